"""The page itself: its CSS, its scripts (the editors' brush, a restored export's re-run), the LaTeX
delimiters, and the edits to Gradio's own page scripts that the server applies as it sends them."""

from __future__ import annotations

from .uploads import MAX_FILE_SIZE, MIN_SIDE


# gr.Markdown renders only $$...$$ by default; the explanations use inline $...$ too
LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]


# the page's style: labels and toolbars sit above an image, never over it; pixel art stays sharp; below
# 900 px the tab's columns stack (controls above outputs) and the tab buttons narrow so that at 800 px none hides
# behind Gradio's "..." overflow menu
CSS = """
.block > label[data-testid="block-label"].float { position: static; margin-bottom: 4px; }
.image-container .icon-button-wrapper.top-panel { position: static; justify-content: flex-end; margin-bottom: 2px; }
.image-container img, .image-frame img { image-rendering: pixelated; }
/* an upload smaller than its box is shown enlarged, like the examples (a 64-px upload sat at 64 px) */
.block:has(input[type=file]) .image-frame img { min-width: 128px; min-height: 128px; object-fit: contain;
  max-height: 400px; }  /* and a tall one no taller: a 100 x 2000 strip stood 2,560 px high at 800 px */
/* a drawing canvas's zoom / undo / clear bar sits on the canvas's top right, not across the middle of it nor
   over its name (the name of each VAE editor, A, B or C, was hidden under the canvas); its tools sit at the
   block's left edge, beside the image rather than over the garment's left side */
.image-container:has(canvas) .icon-button-wrapper.top-panel { position: absolute !important; top: 2px !important;
  bottom: auto !important; left: auto !important; right: 2px !important; margin: 0; }
.block:has(.pixi-target) > label[data-testid="block-label"] { position: relative; z-index: 3; }
/* too narrow for name and bar in a line: the bar goes under the picture (at 30 px, under the name, it covered the
   inpaint picture's top right corner at 1400 px) */
.narrow-editor .image-container:has(canvas) .icon-button-wrapper.top-panel { top: auto !important; bottom: 2px !important; }
.image-container:has(.pixi-target) .toolbar-wrap { left: 0 !important; }
/* a user error is said once, in its toast; the outputs keep what they showed instead of an "Error" badge each */
[data-testid="status-tracker"]:has(> span.error) { display: none; }
.frames img { object-fit: contain; max-width: 100%; }
/* a button that cannot be pressed looks so (the first lesson's "← Previous step" looked like the others) */
button:disabled { opacity: 0.45; cursor: not-allowed; }
/* a control's hint ("this model is unconditional", a preset's meaning) in the text's colour: Gradio's pale grey
   was hardly read */
.info-text { color: var(--body-text-color) !important; }
/* a card's training command wraps at the column's edge instead of scrolling sideways as a code block does */
#about-card pre, #about-card pre code { white-space: pre-wrap; overflow-wrap: anywhere; }
/* a settings link's query string breaks at the column's edge (it ran past the page's right edge) */
#settings-link, #settings-link code, #restored-note, #restored-note a { overflow-wrap: anywhere; }
/* under the editor, not over it (it covered the bottom of the image it said was kept) */
.upload-refused { position: absolute; top: 100%; left: 0; right: 0; padding: 2px 4px; z-index: 5;
  color: var(--error-text-color, #b91c1c); font-size: var(--text-sm); font-weight: 600; background: #fef2f2;
  border-radius: 3px; }  /* marked as a message, not a caption (a walk read past it and took its file as dropped unsaid) */
.upload-refused[hidden] { display: none; }
.block:has(> .upload-refused:not([hidden])) { overflow: visible !important; }
/* the walk's GIF as tall as its MP4 beside it (it was drawn at its 128 px), crisp when enlarged */
.transport { align-items: center; }  /* Train live's Play | Pause | Step x [n] | Reset, one line */
#gan-walk-gif img { height: 224px; width: auto; image-rendering: pixelated; }
/* the loop's GIF fills its box like the MP4 beside it (it sat at its 110 px), the diffusion run's at any width */
#gan-loop-gif img { height: 224px; width: auto; max-width: 100%; object-fit: contain; image-rendering: pixelated; }
/* the diffusion run's GIF and MP4 at their own size (made large enough: at 224 px, 16 images' tiles were ~40 px;
   a 160-px GIF enlarged to 400 px drew its titles as blocks), never wider than the column */
#ddpm-gif img { height: auto; max-height: 400px; width: auto; max-width: 100%; object-fit: contain;
  image-rendering: pixelated; margin-bottom: 8px; }  /* a margin under it: flush with the box, it read as cut off */
/* more than 4 images (the run gives its stills the class "wide"): x_t above x0_hat, each the column's width */
.ddpm-stills:has(> .wide) { flex-wrap: wrap; }
.ddpm-stills > .wide { min-width: 100% !important; }
.ddpm-stills > .wide img { height: 400px; width: auto; max-width: 100%; object-fit: contain; }
#ddpm-mp4 video { height: auto !important; max-height: 400px; width: auto; max-width: 100%; display: block;
  margin: 0 auto 8px; }
/* more than 4 images: the frames (x_t | x0_hat) take the column's width, ~1.5x (~96-px tiles; their own 64 keeps
   the encoding's cost as it was) */
#ddpm-gif.wide img, #ddpm-mp4.wide video { height: auto !important; max-height: none; width: 100%; max-width: 100%;
  display: block; margin: 0 auto; }
#ddpm-gif.wide .image-frame { width: 100%; }  /* the image's frame shrank to the GIF's own 560 px */
/* an MP4 as tall as the GIF beside it, inside its box: a fixed box height left the player 28-45 px under the box's
   edge, where the garment's bottom and the controls were cut off */
.anim video { height: 224px !important; max-height: 224px; width: 100%; }
/* an MP4 enlarged as crisply as the GIF beside it (smoothed, it read as a blurred copy of the same run) */
.anim video, #ddpm-mp4 video { image-rendering: pixelated; }
/* the guidance view's x0 and latent tiles, enlarged cell by cell as made (smoothed, their edges blurred) */
#t2i-cfg img { image-rendering: pixelated; }
/* About's table of models: whole cells, the metrics wrap, sideways scroll when the page is narrower */
#about-models table { display: block; overflow-x: auto; }
#about-models :is(th, td):not(:last-child) { white-space: nowrap; }
#about-models td:last-child { min-width: 260px; }
/* table cells break between words, not inside them ("minut|es", "entro|py"); long names break at their hyphens */
#loss-table :is(th, td) *, #about-models :is(th, td) *, #compare-table th * {
  word-break: normal !important; overflow-wrap: normal !important; hyphens: none !important; }
/* a results gallery shows all its items: Gradio fixed its height (~500 px) even at height="auto", and
   scrolled away a compared model's rows and captions */
.full-gallery .grid-wrap.fixed-height { height: auto !important; max-height: none !important; }
/* a picker gallery (small thumbnails to click) writes each caption under its thumbnail, not over the garment */
.picker .thumbnail-item:has(> .caption-label) { display: flex; flex-direction: column; height: auto !important;
  aspect-ratio: auto !important; overflow: visible; }
/* the whole garment in its thumbnail (cropped to the wide box, trousers and dresses lost their ends at 800 px) */
.picker .thumbnail-item:has(> .caption-label) > img { height: 100px; min-height: 100px; flex: none;
  object-fit: contain !important; background: #000; }
.picker .thumbnail-item > .caption-label { position: static !important; max-width: 100%; margin: 2px auto 0; }
/* a results gallery's caption (model name, ms/image) goes under its grid, not over its last row's samples */
.full-gallery .thumbnail-item:has(> .caption-label) { display: flex; flex-direction: column; height: auto !important;
  aspect-ratio: auto !important; overflow: visible; }
.full-gallery .thumbnail-item:has(> .caption-label) > img { flex: none; height: auto; }
.full-gallery .thumbnail-item > .caption-label { position: static !important; max-width: 100%; margin: 2px auto 0; }
/* a video shows its whole frame (the player cropped the loop's shirt and the diffusion strip's edges) */
video { object-fit: contain !important; }
/* a lesson's equation scrolls sideways in a narrow column instead of being cut at its edge */
#lesson-eq .katex-display { overflow-x: auto; overflow-y: hidden; padding: 2px 0; }
#lesson-eq .katex-display > .katex { font-size: 1.05em; }  /* KaTeX's 1.21em cut Pix2Pix's loss at 1400 px */
/* a lesson's live view fits its column whole (a wide strip was centred and cut at both edges) */
#lesson-image img { max-width: 100% !important; height: auto !important; object-fit: contain !important; }
/* ... inside the box's rounded corners (a heat map's scale label at the right edge was cut by the corner) */
#lesson-image .image-frame { padding: 0 6px 6px 0; box-sizing: border-box; }
#vae-point img { width: 192px; height: 192px; object-fit: contain; }
/* a dropdown's value stops short of its arrow (long model names ran under it) */
.secondary-wrap input { padding-right: 22px !important; text-overflow: ellipsis; }
/* the X/Y grid's checkpoint box while an axis sets it: its name hidden (greyed, it read as the grid's model) */
.set-by-axis input { color: transparent !important; -webkit-text-fill-color: transparent !important; }
.sheet .image-frame { overflow-x: auto; justify-content: flex-start; }
.sheet img { max-width: none !important; max-height: none !important; width: auto; height: auto; }
#clf-seen .image-container, #clf-seen .image-frame { min-height: 200px; }
#clf-seen img { width: 192px !important; height: 192px !important; max-width: none !important;
                max-height: none !important; object-fit: contain !important; }
/* a table wider than its column scrolls sideways: say so where its columns are cut (data-cut, set by the page's
   script when they are; by the page's width alone the hint showed at 1400 px over a table that fit) */
:is(.wide-table, #about-models)[data-cut]::before { content: "scroll the table sideways for every column →";
  display: block; font-size: 14px; color: var(--body-text-color); padding: 2px 4px; }  /* subdued grey: unseen */
@media (max-width: 900px) {
  .row:has(> .column) { flex-direction: column; }
  .row:has(> .column) > .column, .row:has(> .column) > .tabs { width: 100%; min-width: 0 !important; }
  /* 4-px sides: the eleven labels need 673 px of the 704 at 800 px ("Inpaint & upscale" pushed three into "⋯" at 7 px) */
  .tab-wrapper .tab-container > button { padding: 4px 4px; font-size: 14px; }
  .row > .column.views-first { order: -1; }  /* Train live: Play and the views, then the settings */
  /* a sample sheet fits the column (its last column was cut off, the sideways scroll unseen): 8 samples of
     ~88 px in the 702-px column of an 800-px page */
  .sheet img { max-width: 100% !important; height: auto !important; }
}
"""


# set when the page-load event that fills every tab's opening result has finished (or failed)
OPENED_JS = "() => { window.playgroundOpened = true; }"

# after a restore put an export's settings back, press the button that made it (wire gives each its class)
# ({"api", "tabs"}: the labels of the tabs around the button, outermost first; a tab mounts its content when shown).
# It waits for the tabs' openings to land first (at most a minute): pressed before, its result was overwritten by
# the tab's opening grid when that came later, as on a cold or busy server, or with a link opened in a new page
RERUN_JS = """(spec) => {
  if (!spec) return;
  const {api, tabs} = JSON.parse(spec);
  const t0 = Date.now();
  const next = (i) => {
    if (i < tabs.length) {
      const t = [...document.querySelectorAll('button[role=tab]')].find(
        b => b.offsetParent && b.innerText.trim() === tabs[i]);
      if (t && t.getAttribute('aria-selected') !== 'true') t.click();
      setTimeout(() => next(i + 1), 300);
    } else {
      const b = document.querySelector('button.run-' + api);
      if (b) b.click();
    }
  };
  const start = () => (window.playgroundOpened || Date.now() - t0 > 60000) ? next(0) : setTimeout(start, 100);
  setTimeout(start, 300);
}"""


# a sketchpad is ready to draw when it appears: its brush is picked once, as a user's first click would; and
# again after "Clear canvas", which leaves Gradio's editor asking to "select the draw tool to start"
JS = """() => {
  // an action's button closes the messages of the actions before it that have been up 3 s (read): "the prompt is
  // empty" stayed up beside the next prompt's images, and refusals stacked ("Error (3)", one message twice). A
  // newer one stays: a refused upload's reason, closed by the Classify pressed at once, was never seen
  // (stamped from the added nodes alone: a query of the whole page ran on every change of every image)
  const TOAST = '[data-testid="toast-body"]';
  new MutationObserver((records) => records.forEach(r => r.addedNodes.forEach(n => {
    if (n.nodeType !== 1) return;
    [...(n.matches(TOAST) ? [n] : []), ...n.querySelectorAll(TOAST)]
      .forEach(t => { if (!t.dataset.born) t.dataset.born = Date.now(); });
  }))).observe(document.body, {subtree: true, childList: true});
  // a tab too: a refusal followed the user from lesson 14 onto the Diffusion tab, over its notes
  document.addEventListener('click', (e) => {
    if (!(e.target.closest && e.target.closest('button.lg, button[role="tab"]'))) return;
    document.querySelectorAll('[data-testid="toast-body"]').forEach(t => {
      const close = t.querySelector('[data-testid="toast-close"]');
      if (close && Date.now() - Number(t.dataset.born || 0) >= 3000) close.click();
    });
  }, true);
  const pick = () => document.querySelectorAll('button[aria-label="Brush"]:not([data-picked])').forEach(b => {
    if (b.offsetParent) { b.dataset.picked = "1"; b.click(); }
  });
  // once a burst of changes has settled, not on each change: run on every mutation of the page, the query and the
  // layout that offsetParent forces (the page half updated) took ~25 ms of each Classify click's main thread once
  // the tabs were opened (Chromium's profiler); 200 ms later the layout is clean and the check costs little
  // a looping MP4 plays while it is on screen: those of the tabs left behind (a GAN walk's, the diffusion run's)
  // played on, hidden, decoding and redrawing their players' clocks through every other tab's clicks. Paused
  // here when out of view, they play again when back in view; one the user paused stays paused
  const onScreen = new WeakMap(), watched = new WeakSet();
  const holdOffscreen = (v) => { if (!v.paused) { v.dataset.offscreen = "1"; v.pause(); } };
  const views = new IntersectionObserver((entries) => entries.forEach(({target: v, isIntersecting: on}) => {
    onScreen.set(v, on);
    if (!on) holdOffscreen(v);
    else if (v.dataset.offscreen) { delete v.dataset.offscreen; v.play().catch(() => {}); }
  }));
  // a new run's MP4 that starts (autoplay) while its tab is hidden waits too
  document.addEventListener('play', (e) => { if (e.target.tagName === 'VIDEO' && onScreen.get(e.target) === false)
    holdOffscreen(e.target); }, true);
  const watch = () => document.querySelectorAll('video').forEach(v => {
    if (!watched.has(v)) { watched.add(v); views.observe(v); } });
  // a wide table says it scrolls sideways only while its columns are cut (its table wider than the room it has)
  const cut = () => document.querySelectorAll('.wide-table, #about-models').forEach(el => {
    const t = el.querySelector('table');
    const over = !!t && el.offsetParent !== null &&
      (t.scrollWidth > t.clientWidth + 1 || t.getBoundingClientRect().width > el.clientWidth + 1);
    if (over !== el.hasAttribute('data-cut')) el.toggleAttribute('data-cut', over);
  });
  let queued = 0;
  window.addEventListener('resize', () => setTimeout(cut, 100));
  new MutationObserver(() => { if (!queued) queued = setTimeout(() => { queued = 0; pick(); watch(); cut(); }, 200); })
    .observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ["class", "style", "hidden"]});
  document.addEventListener('click', (e) => {
    const clear = e.target.closest && e.target.closest('button[aria-label="Clear canvas"]');
    const editor = clear && clear.closest('.block');
    if (editor) setTimeout(() => {
      const b = editor.querySelector('button[aria-label="Brush"]');
      if (b) b.click();
      // the cleared canvas is white: a white brush (the VAE's editors, for light garments on black) drew
      // invisibly there, so switch to the editor's black, if it offers one (dark on white is read inverted).
      // The brush's Color button exists once the brush is picked, and its swatches once it is pressed.
      setTimeout(() => {
        const color = editor.querySelector('button[aria-label="Color"]');
        if (!color || getComputedStyle(color).color !== 'rgb(255, 255, 255)') return;
        color.click();
        setTimeout(() => {
          const black = [...editor.querySelectorAll('button.color')].find(
            s => s.style.backgroundColor === 'rgb(0, 0, 0)');
          if (black) black.click();
          // and the swatches are closed again: left open, they covered the lower half of the canvas (a walk
          // read the pop-up as a glitch); a press elsewhere (mousedown) closes them, as it does for a user
          setTimeout(() => document.body.dispatchEvent(new MouseEvent('mousedown', {bubbles: true})), 100);
        }, 150);
      }, 150);
    }, 150);
  }, true);
  // an editor given a file the browser cannot decode (a .txt named .png) went blank, losing the image it held, and
  // Gradio said nothing. The file is held back until the browser has decoded it: a good one goes on to the editor
  // (the same event, sent again), a bad one never reaches it (the image stays) and the box says why.
  // The same for an image box (gr.Image): it emptied, dropping the garment it showed, beside the server's message.
  // (The server checks every upload too, for API callers: check_uploads.)
  const isEditor = (block) => block && (block.querySelector('button[aria-label="Clear canvas"]')
                                        || block.querySelector('[data-testid="image"]'));
  const vetted = new WeakSet(), notes = new WeakMap();
  // the note hangs under the editor (absolute, top: 100%), in a margin the editor's block grows by while it shows:
  // over the image it hid the garment it said was kept; in the block's flow it collapsed the fixed-height editor
  const hide = (note) => { note.hidden = true; note.parentElement.style.marginBottom = ''; };
  const say = (block, text) => {
    let note = notes.get(block);
    if (!note) {
      note = document.createElement('div');
      note.className = 'upload-refused';
      note.setAttribute('role', 'alert');
      note.hidden = true;  // until there is something to say (shown empty while the file was read: a flake found it so)
      block.appendChild(note);
      notes.set(block, note);
    }
    if (text === null) return hide(note);
    note.textContent = text;
    note.hidden = false;
    block.style.marginBottom = (note.offsetHeight + 4) + 'px';
    // brought into view: under a tall editor it sat below the window's edge, and a walk saw nothing happen
    note.scrollIntoView({block: 'nearest', behavior: 'smooth'});
    clearTimeout(note.timer);  // it goes after a while, as a toast does (it read as a current problem later)
    note.timer = setTimeout(() => hide(note), 12000);
  };
  const tooBig = (file) => file.size > __MAX_BYTES__ &&
    '"' + file.name + '" is ' + (file.size / 1048576).toFixed(1) + ' MB: over the __MAX_MB__ MB an upload may be.';
  const vet = (block, file, pass) => {
    const refuse = (why) => {
      // "kept" only when there was something to keep (an emptied box was told its image was kept)
      const held = block.querySelector('button[aria-label="Clear canvas"]') ? ' What it held is kept.'
        : block.querySelector('img') ? ' The image it held is kept.' : ' The box stays empty.';
      say(block, why + held);
    };
    // over the upload limit: Gradio's own refusal emptied the box, and the next press said "no image given"
    if (tooBig(file)) return refuse(tooBig(file));
    createImageBitmap(file).then((bitmap) => {
      const w = bitmap.width, h = bitmap.height;
      bitmap.close();
      // too small for a garment (the server's MIN_SIDE): refused here too, or the box emptied beside its message
      if (Math.min(w, h) < __MIN_SIDE__)
        return refuse('"' + file.name + '" is ' + w + 'x' + h +
                      ' px: too small to show a garment (at least __MIN_SIDE__x__MIN_SIDE__).');
      say(block, null);
      pass();
    }, () => refuse('"' + file.name + '" is not an image this box can open: choose a PNG, JPEG, GIF, WEBP or BMP file.'));
  };
  // a box of several files (Train live's images): one over the limit made Gradio refuse them all, with a toast;
  // it is left out, said under the box, and the rest go on
  const withoutTooBig = (block, files, pass) => {
    const big = [...files].filter(tooBig), rest = [...files].filter((f) => !tooBig(f));
    if (!big.length) return false;
    say(block, tooBig(big[0]) + (big.length > 1 ? ' So are ' + (big.length - 1) + ' more.' : '') +
        (rest.length ? ' Left out; ' + (rest.length === 1 ? 'the other one is' : 'the other ' + rest.length + ' are') +
         ' added.' : ' Nothing was added.'));
    if (rest.length) {
      const dt = new DataTransfer();
      rest.forEach((f) => dt.items.add(f));
      pass(dt);
    }
    return true;
  };
  // an action pressed after the refusal: the note is old news (it stayed after a successful Interpolate)
  document.addEventListener('click', (e) => {
    if (e.target.closest && e.target.closest('button.primary'))
      document.querySelectorAll('.upload-refused:not([hidden])').forEach(hide);
  }, true);
  document.addEventListener('change', (e) => {
    const input = e.target, block = input.closest && input.closest('.block');
    if (input.type !== 'file' || !input.files || !input.files.length || vetted.has(e)) return;
    if (input.multiple && block && !isEditor(block)) {
      if (withoutTooBig(block, input.files, (dt) => {
        input.files = dt.files;
        const again = new Event('change', {bubbles: true});
        vetted.add(again);
        input.dispatchEvent(again);
      })) e.stopImmediatePropagation();
      return;
    }
    if (!isEditor(block)) return;
    e.stopImmediatePropagation();
    vet(block, input.files[0], () => {
      const again = new Event('change', {bubbles: true});
      vetted.add(again);
      input.dispatchEvent(again);
    });
  }, true);
  document.addEventListener('drop', (e) => {
    const block = e.target.closest && e.target.closest('.block');
    const files = e.dataTransfer && e.dataTransfer.files;
    if (!block || !files || !files.length || vetted.has(e)) return;
    const target = e.target;
    const dropAgain = (dt) => {
      const again = new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt});
      vetted.add(again);
      target.dispatchEvent(again);
    };
    if (!isEditor(block)) {
      const input = block.querySelector('input[type=file]');
      if (input && input.multiple && withoutTooBig(block, files, dropAgain)) {
        e.preventDefault();
        e.stopImmediatePropagation();
      }
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
    const file = files[0];
    vet(block, file, () => {
      const dt = new DataTransfer();
      dt.items.add(file);
      dropAgain(dt);
    });
  }, true);
  pick();
}"""
JS = (JS.replace("__MIN_SIDE__", str(MIN_SIDE))  # the size the server refuses below, said the same way
      .replace("__MAX_BYTES__", str(MAX_FILE_SIZE)).replace("__MAX_MB__", f"{MAX_FILE_SIZE / 2**20:g}"))



# Gradio 6.31's page keeps a loading status for every input and output of every event that has run
# (`LoadingStatus.current`, in its statustracker script). On each status change of any event (pending,
# generating, complete) `update` copied every entry, changed or not, and `update_loading_stati_state` (in its
# Blocks script) wrote them all back, each found by a depth-first walk of the component tree. A click therefore
# cost more the more the user had done: after the bench's five tabs, Classify took 571 ms from click to paint and
# the forward-process slider 354 ms; with these edits, 186 and 132 (`python -m bench --only browser`, 2026-12-06).
# The edits: an entry is copied only when there is something to clear in it, a status set in place makes a new
# entry, and an entry is written only when it is not the one written last. Where a Gradio build lacks any of these
# texts, its script is served as it is.
# Each of those writes, and each event's reading of its inputs, finds its component with `Z`, a depth-first walk of
# the ~1,000-node tree from the root (its core script): ~40 ms of the page's main thread per 2-D lab Step in a V8
# profile. The edit keeps, per root, the path of child indices to each id found, and follows it first: a node
# reached by that path that still has the id is the node (ids are unique); if the tree changed under it, the walk
# runs as before and its path is kept.
GRADIO_PAGE_EDITS = {
    "core-": [
        ("function Z(e,t){if(e.id===t)return e;if(e.children)for(let n of e.children){let e=Z(n,t);if(e)return e}"
         "return null}",
         "const Zpaths=new WeakMap;function Z(e,t){let c=Zpaths.get(e),p=c&&c.get(t);if(p){let n=e;for(let i of p)"
         "if(!(n=n.children&&n.children[i]))break;if(n&&n.id===t)return n}let q=[],n=Zwalk(e,t,q);if(n){c||"
         "Zpaths.set(e,c=new Map);c.set(t,q)}return n}function Zwalk(e,t,q){if(e.id===t)return e;if(e.children)"
         "for(let n=0;n<e.children.length;n++){q.push(n);let r=Zwalk(e.children[n],t,q);if(r)return r;q.pop()}"
         "return null}"),
    ],
    "statustracker-": [
        ("update(e){for(let[t,n]of Object.entries(this.current))n.fn_index!==e.fn_index&&(this.current[t]=",
         "update(e){for(let[t,n]of Object.entries(this.current))n.fn_index!==e.fn_index&&(n.used_cache!=null||"
         "n.cache_duration!=null||n.avg_time!=null||n.cache_event_id!=null)&&(this.current[t]="),
        ("set_status(e,t){this.current[e].status=t}", "set_status(e,t){this.current[e]={...this.current[e],status:t}}"),
        # a message's own title heads its toast ("Nothing given yet" over an empty pad's message): the toast showed
        # its type, "Error", whatever title the server sent
        ("S=n(()=>t.type.charAt(0).toUpperCase()+t.type.slice(1))",
         "S=n(()=>{let e=w(x)?.title;return e&&![`Error`,`Warning`,`Info`,`Success`].includes(e)?e:"
         "t.type.charAt(0).toUpperCase()+t.type.slice(1)})"),
    ],
    "Blocks-": [
        ("async update_loading_stati_state(){await Promise.all(Object.entries(this.loading_stati.current).map(",
         "async update_loading_stati_state(){let w=this.__written??=new Map;await Promise.all(Object.entries("
         "this.loading_stati.current).filter(([e,t])=>w.get(e)!==t&&(w.set(e,t),!0)).map("),
        # a gr.Error's title heads its message: the page read `_title`, which the client never sets, so every
        # message was headed "Error" (an empty pad's "Nothing given yet" too)
        ("throw this.log_cb(s?._title??`Error`,", "throw this.log_cb(s?.title??s?._title??`Error`,"),
    ],
}


def edited_gradio_scripts(folder) -> dict[str, bytes]:
    """Gradio's page scripts in `folder` that carry every text `GRADIO_PAGE_EDITS` edits, once -> {file name: the
    edited script}."""
    from pathlib import Path

    edited = {}
    for prefix, edits in GRADIO_PAGE_EDITS.items():
        for path in sorted(Path(folder).glob(f"{prefix}*.js")):
            text = path.read_text(encoding="utf-8")
            if all(text.count(old) == 1 for old, _ in edits):
                for old, new in edits:
                    text = text.replace(old, new)
                edited[path.name] = text.encode()
    return edited


def serve_edited_gradio_page() -> list[str]:
    """Gradio's server sends its page with `GRADIO_PAGE_EDITS` applied (`create_app` applies it; the installed
    files are not touched) -> the scripts it edits. Says so on stderr where this Gradio build lacks any of them."""
    import hashlib
    import sys

    from gradio import route_utils, routes
    from starlette.responses import Response

    plain = routes.file_response
    if hasattr(plain, "edited"):
        return sorted(plain.edited)
    folder = str(route_utils.BUILD_PATH_LIB)
    edited = edited_gradio_scripts(folder)
    if len(edited) < len(GRADIO_PAGE_EDITS):
        print(f"note: this Gradio's page scripts lack the texts playground.page edits ({sorted(edited) or 'none'} "
              "found); the page is served as Gradio ships it, slower after many clicks", file=sys.stderr)
    tags = {name: hashlib.sha256(body).hexdigest()[:16] for name, body in edited.items()}

    def file_response(developer_path, user_path):
        if str(developer_path) == folder and str(user_path) in edited:
            return Response(edited[str(user_path)], media_type="text/javascript; charset=utf-8",
                            headers={"ETag": tags[str(user_path)]})
        return plain(developer_path, user_path)

    file_response.edited = edited
    routes.file_response = file_response
    return sorted(edited)
