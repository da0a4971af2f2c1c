/* jsdom lacks DragEvent, which @lumino/dragdrop (pulled in by @lumino/widgets)
 * subclasses at import time. */
if (typeof globalThis.DragEvent === 'undefined') {
  globalThis.DragEvent = class DragEvent extends MouseEvent {};
}
