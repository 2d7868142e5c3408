// `node -r uvscope/register app.js`: loads uvscope before the application so recording
// covers the whole run.
import './index.js';
