/* jsdom lacks DragEvent, which @lumino/dragdrop (pulled in by @lumino/widgets)
 * subclasses at import time. */
if (typeof globalThis.DragEvent === 'undefined') {
  globalThis.DragEvent = class DragEvent extends MouseEvent {};
}

/* jsdom lacks matchMedia, which uPlot calls at import time (to follow the
 * device pixel ratio); the panel tests draw no chart. */
if (typeof window !== 'undefined' && typeof window.matchMedia === 'undefined') {
  window.matchMedia = query => ({
    matches: false,
    media: query,
    onchange: null,
    addListener: () => undefined,
    removeListener: () => undefined,
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    dispatchEvent: () => false
  });
}
