// Modal dialogs: native <dialog> opened with showModal(), so the browser keeps the keyboard
// inside, Esc closes it and the page behind is inert; the focus goes back where it was.

/** Opens `dialog` modally and focuses `focus` (else its first field or button). */
export function openDialog(dialog, focus = null) {
  if (dialog.open) return;
  const back = document.activeElement;
  dialog.addEventListener(
    'close',
    () => {
      if (back && back.isConnected && typeof back.focus === 'function') back.focus();
    },
    { once: true },
  );
  dialog.showModal();
  (focus || dialog.querySelector('[autofocus], input:not([type="hidden"]), select, textarea, button'))?.focus();
}

/** True while a modal dialog is open (single-key shortcuts stay off then). */
export function dialogOpen() {
  return Boolean(document.querySelector('dialog[open]'));
}
