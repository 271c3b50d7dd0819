/**
 * A modal dialog of the trading screens (the ticket, the roll picker) taken down at once:
 * closed in the task that closes it, removed from the page (a dialog left until the
 * browser's `close` event, a task or a frame later, is still found by the next key or
 * click), and the focus handed back to what opened it, unless the trader has put it
 * somewhere else meanwhile.
 */

/** Close and remove `dialog`; focus `opener` if the focus was in the dialog or lost. */
export function dismissModal(doc, dialog, opener) {
  if (dialog.open) dialog.close();
  const focusIn = doc.activeElement;
  const focusLost = !focusIn || focusIn === doc.body || dialog.contains(focusIn);
  dialog.remove();
  if (focusLost && opener && opener.isConnected && opener.focus) opener.focus();
}
