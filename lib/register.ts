// `node -r uvscope/register app.js`: loads uvscope before the application so recording
// covers the whole run.
//
// Under the `uvscope` CLI (its channel variable is set) it also starts the reporter that
// sends this thread's windows to the CLI; a failure to load is reported to the CLI instead
// of thrown, so the program runs on unobserved. Without the variable the reporter's code
// is never loaded.
if (process.env.UVSCOPE_CLI_DIR) {
  (require('./cli/reporter.js') as typeof import('./cli/reporter.js')).startReporter();
} else {
  require('./index.js');
}
