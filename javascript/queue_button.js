// Task Scheduler: the Queue button's preprocessor.
//
// The Queue click is bound to exactly Generate's inputs. Gradio passes a `js` preprocessor the
// inputs followed by the current output values; keep the inputs only and give the task-id slot
// a fresh id. Unlike Forge's submit(), nothing here starts the progress bar or hides Generate:
// queueing never generates.

/* exported taskSchedulerQueueArgs */
function taskSchedulerQueueArgs(tab, count, args) {
    var values = Array.from(args).slice(0, count);
    values[0] = "task(queue-" + tab + "-" + Math.random().toString(36).slice(2, 10) + ")";
    return values;
}
