/* Dashboard pages: copy buttons. Everything else works without this file. */
(() => {
  'use strict';

  document.addEventListener('click', (event) => {
    const button = event.target.closest('button.copy[data-copy]');
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = source.textContent.trim();
    const done = () => {
      const label = button.textContent;
      button.textContent = document.documentElement.lang === 'ru' ? 'Скопировано' : 'Copied';
      setTimeout(() => { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => selectText(source));
    } else {
      selectText(source);
    }
  });

  function selectText(node) {
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
