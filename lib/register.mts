// `node --import uvscope/register app.js`: loads uvscope before the application so
// recording covers the whole run. The CommonJS entry does the work, so both ways of
// loading share one module instance (and one CLI reporter per thread).
import './register.js';
