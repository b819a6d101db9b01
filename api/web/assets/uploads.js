// The upload list: each file is checked in the browser, uploaded straight to S3 with its presigned
// URL (a few at a time, with progress), then followed until the processor accepts or rejects it.
// Each row can be cancelled or retried; "완료된 항목 지우기" clears finished rows; a summary says how
// the batch went; rejections come from the API, so they are still listed after a reload.
import {h, announce, formatBytes, formatDate, srOnly} from './dom.js';
import {request, scenarioPath, ApiError} from './api.js';
import {shrinkPhoto, shrinkNote} from './shrink.js';

const POLL_MS = 1000;
const POLL_LIMIT = 120; // about two minutes; the processor normally answers within seconds
const PARALLEL = 3;
const SHOW_REJECTIONS_DAYS = 7;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const FINISHED = new Set(['ready', 'rejected', 'invalid', 'cancelled']);
const RUNNING = new Set(['waiting', 'preparing', 'uploading']);

// uploadList builds the list for one scenario. onUploaded() is called when an upload reached S3
// or finished, so the page can show it in the grid. rules is files.js's fileRules of the API's
// policy: the check of each picked file and the size photos are shrunk to.
export function uploadList(scenario, onUploaded, rules) {
  const clearedKey = `medicpx.cleared.${scenario}`;
  const list = h('ul', {id: 'uploads', class: 'uploads', 'aria-label': '올리는 파일'});
  const summary = h('p', {id: 'upload-summary', class: 'summary', hidden: true});
  const clear = h('button', {type: 'button', id: 'clear-finished', class: 'small', hidden: true}, '완료된 항목 지우기');
  // A line shown beside the summary but not announced: the sign-in dialog says why when it opens.
  const noticeEl = h('p', {id: 'upload-notice', class: 'hint', hidden: true});
  const bar = h('div', {class: 'row upload-bar'}, summary, noticeEl, clear);
  const rows = []; // this page's rows, newest first
  const queue = [];
  let workers = 0;
  let puts = 0; // S3 uploads on their way
  let putsDone = () => {};
  let announcedSummary = '';

  clear.addEventListener('click', () => {
    for (const r of rows.filter((r) => FINISHED.has(r.state))) {
      r.el.remove();
      rows.splice(rows.indexOf(r), 1);
    }
    // Rejections read from the API before now stay cleared after a reload too.
    localStorage.setItem(clearedKey, new Date().toISOString());
    update();
    announce('완료된 항목을 목록에서 지웠습니다.');
    clear.hidden = true;
    document.getElementById('file-input').focus();
  });

  function update() {
    const own = rows.filter((r) => !r.fromServer);
    const count = (s) => own.filter((r) => s.includes(r.state)).length;
    const total = own.length;
    const ready = count(['ready']);
    const rejected = count(['rejected', 'invalid']);
    const failed = count(['failed']);
    const cancelled = count(['cancelled']);
    const busy = total - ready - rejected - failed - cancelled;
    let text = total ? `${total}개 중 ${ready}개 등록, ${rejected}개 거부` : '';
    if (failed) text += `, ${failed}개 실패`;
    if (cancelled) text += `, ${cancelled}개 취소`;
    if (busy) text += `, ${busy}개 진행 중`;
    summary.textContent = text;
    summary.hidden = !text;
    clear.hidden = !rows.some((r) => FINISHED.has(r.state));
    // Said once, when the batch is over (a screen reader hears each file as it finishes too).
    if (total && !busy && text !== announcedSummary) {
      announcedSummary = text;
      announce(`업로드 결과: ${text}.`);
    }
  }

  function addRow(file, opts = {}) {
    const r = row(file, opts, {retry: () => start(r), cancel: () => cancel(r), dismiss: () => dismiss(r)});
    rows.unshift(r);
    list.prepend(r.el);
    return r;
  }

  function dismiss(r) {
    r.el.remove();
    rows.splice(rows.indexOf(r), 1);
    update();
    document.getElementById('file-input').focus();
  }

  function start(r) {
    r.cancelled = false;
    const c = rules.check(r.file);
    if (c.error) {
      r.set('invalid', c.error);
      settle(r, new Error(c.error));
      update();
      return;
    }
    r.type = c.type;
    r.shrink = !!c.shrink;
    r.set('waiting', '대기 중');
    queue.push(r);
    update();
    pump();
  }

  function cancel(r) {
    r.cancelled = true;
    const i = queue.indexOf(r);
    if (i >= 0) queue.splice(i, 1);
    if (r.xhr) r.xhr.abort();
    r.set('cancelled', '취소했습니다.');
    settle(r, new Error('업로드를 취소했습니다.'));
    announce(`${r.file.name}: 업로드를 취소했습니다.`);
    update();
    r.focusAction();
  }

  function pump() {
    while (workers < PARALLEL && queue.length) {
      workers++;
      const r = queue.shift();
      uploadOne(r).finally(() => {
        workers--;
        update();
        pump();
      });
    }
  }

  async function uploadOne(r) {
    let file = r.file;
    let type = r.type;
    try {
      let note = '';
      if (r.shrink) {
        // Phone photos over the limit are shrunk here, upright, instead of being refused.
        r.set('preparing', `${rules.maxLabel}가 넘어 사진 크기를 줄이는 중…`);
        const small = await shrinkPhoto(file, rules.maxBytes);
        if (r.cancelled) return;
        note = shrinkNote(file.size, small.size);
        [file, type] = [small, small.type];
      }
      r.set('preparing', '업로드 준비 중…');
      const up = await request('POST', `/patient-images/upload-url/${encodeURIComponent(scenario)}`,
        {filename: file.name.normalize('NFC'), content_type: type, content_length: file.size, method: 'PUT'});
      if (r.cancelled) return;
      r.key = up.s3_key;
      // The name is staff-only, so the API takes it, but says when it looks like it names a patient.
      for (const w of up.warnings || []) r.note(w);
      r.set('uploading', '올리는 중… 0%');
      puts++;
      try {
        await put(r, file, up, (pct) => r.progress(pct));
      } finally {
        if (--puts === 0) putsDone();
      }
      if (note) r.note(note);
      r.set('processing', '올렸습니다. 서버가 이미지를 확인하는 중…');
      update();
      onUploaded();
      const st = await follow(up.status_url);
      if (st.status === 'ready') {
        r.ready(st.image);
        if (st.removed_message) r.note(st.removed_message);
        announce(`${file.name}: 확인이 끝나 등록되었습니다.`);
        settle(r, null, {key: r.key, image: st.image});
      } else {
        r.set('rejected', `등록되지 않았습니다: ${st.message}`);
        announce(`${file.name}: 등록되지 않았습니다. ${st.message}`);
        settle(r, new Error(`등록되지 않았습니다: ${st.message}`));
      }
      onUploaded();
    } catch (e) {
      if (r.cancelled) return;
      r.set('failed', e.message);
      announce(`${file.name}: ${e.message}`);
      settle(r, e);
    }
  }

  // settle answers upload()'s promise for a row, once: with the ready image or the error.
  function settle(r, err, value) {
    const w = r.waiter;
    if (!w) return;
    r.waiter = null;
    if (err) w.reject(err);
    else w.resolve(value);
  }

  // follow polls an upload's status until the processor has decided.
  async function follow(statusURL) {
    let missing = 0;
    for (let i = 0; i < POLL_LIMIT; i++) {
      await sleep(POLL_MS);
      try {
        const st = await request('GET', statusURL);
        if (st.status === 'ready' || st.status === 'rejected') return st;
      } catch (e) {
        // Briefly missing while the processor moves a rejected file: look again a few times.
        if (!(e instanceof ApiError) || e.status !== 404 || ++missing > 5) throw e;
      }
    }
    throw new Error('확인이 오래 걸리고 있습니다. 잠시 뒤 아래 목록에서 상태를 확인해 주세요.');
  }

  // showRejections lists the API's recent rejections that this page does not show yet.
  async function showRejections() {
    const data = await request('GET', `${scenarioPath(scenario)}/rejections`);
    const cleared = Date.parse(localStorage.getItem(clearedKey) || '') || 0;
    const since = Math.max(cleared, Date.now() - SHOW_REJECTIONS_DAYS * 86400e3);
    const shown = new Set(rows.map((r) => r.key).filter(Boolean));
    for (const rj of (data.rejections || []).slice().reverse()) {
      if (shown.has(rj.s3_key) || Date.parse(rj.rejected_at) <= since) continue;
      const r = addRow({name: rj.original_filename || rj.filename, size: -1}, {fromServer: true, when: rj.rejected_at});
      r.key = rj.s3_key;
      r.set('rejected', `등록되지 않았습니다: ${rj.message}`);
    }
    update();
  }

  window.addEventListener('beforeunload', (e) => {
    if (rows.some((r) => RUNNING.has(r.state))) {
      e.preventDefault();
      e.returnValue = '';
    }
  });

  return {
    nodes: [bar, list],
    // take lists and starts files; note, if given, is kept on their rows (e.g. how a photo was edited).
    take(files, note = '') {
      const taken = [...files];
      if (taken.length === 0) return;
      for (const f of taken) {
        const r = addRow(f);
        if (note) r.note(note);
        start(r);
      }
      announce(`${taken.length}개 파일을 받았습니다.`);
    },
    // upload sends one file like take, and resolves to {key, image} once it is ready (rejects
    // with the reason if it is refused, fails or is cancelled).
    upload(file, note = '') {
      const r = addRow(file);
      if (note) r.note(note);
      const done = new Promise((resolve, reject) => { r.waiter = {resolve, reject}; });
      start(r);
      return done;
    },
    showRejections,
    notice(text) {
      noticeEl.textContent = text;
      noticeEl.hidden = !text;
    },
    running: () => rows.some((r) => RUNNING.has(r.state)),
    // idle resolves once no upload is on its way to S3 (those need no token to finish).
    putsIdle() {
      if (puts === 0) return Promise.resolve();
      return new Promise((resolve) => { putsDone = resolve; });
    },
  };
}

// put sends the file to S3 with the presigned URL. XMLHttpRequest, because fetch reports no upload
// progress; the browser sets Content-Length from the body itself.
function put(r, file, up, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    r.xhr = xhr;
    xhr.open('PUT', up.upload_url);
    const headers = up.upload_headers || {'Content-Type': up.file_type};
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() !== 'content-length') xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress((e.loaded / e.total) * 100); };
    xhr.onload = () => {
      r.xhr = null;
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve();
        return;
      }
      const m = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText || '');
      reject(new Error(`저장소가 업로드를 받지 않았습니다 (HTTP ${xhr.status}${m ? `: ${m[1]}` : ''}). 다시 시도해 주세요.`));
    };
    xhr.onerror = () => { r.xhr = null; reject(new Error('저장소에 연결하지 못해 업로드하지 못했습니다. 네트워크를 확인한 뒤 다시 시도해 주세요.')); };
    xhr.onabort = () => { r.xhr = null; reject(new Error('취소했습니다.')); };
    xhr.send(file);
  });
}

// row is one file's line: name, progress bar, state text, its actions and result.
function row(file, opts, actions) {
  const name = file.name;
  const bar = h('progress', {max: 100, value: 0, 'aria-label': `${name} 업로드 진행률`});
  const state = h('p', {class: 'state'}, '대기 중');
  const result = h('div', {class: 'result'});
  const notes = h('p', {class: 'note hint'});
  const cancel = h('button', {type: 'button', class: 'small', dataset: {action: 'cancel'}, onclick: actions.cancel}, '취소', srOnly(` (${name})`));
  const retry = h('button', {type: 'button', class: 'small', dataset: {action: 'retry'}, hidden: true, onclick: actions.retry}, '다시 시도', srOnly(` (${name})`));
  const dismiss = h('button', {type: 'button', class: 'small', dataset: {action: 'dismiss'}, hidden: true, onclick: actions.dismiss}, '목록에서 지우기', srOnly(` (${name})`));
  const meta = opts.fromServer
    ? ` · ${formatDate(opts.when)} 업로드`
    : ` · ${formatBytes(file.size)}`;
  const el = h('li', {class: 'upload', dataset: {file: name, state: 'waiting', origin: opts.fromServer ? 'server' : 'page'}},
    h('p', {class: 'name'}, h('strong', {}, name), meta), bar, state, notes, result,
    h('div', {class: 'row'}, cancel, retry, dismiss));
  if (opts.fromServer) bar.hidden = true;
  const r = {
    el, file, fromServer: !!opts.fromServer, state: 'waiting', key: '', xhr: null, cancelled: false, type: '', shrink: false,
    set(s, text) {
      r.state = s;
      el.dataset.state = s;
      state.textContent = text;
      state.classList.toggle('error', ['invalid', 'rejected', 'failed'].includes(s));
      bar.hidden = r.fromServer || s === 'invalid' || s === 'cancelled';
      if (s === 'waiting' || s === 'preparing') bar.value = 0;
      cancel.hidden = !RUNNING.has(s);
      retry.hidden = !(s === 'failed' || s === 'cancelled');
      dismiss.hidden = s !== 'failed';
    },
    // note adds a sentence that stays, whatever the state: what was done to the file.
    note(text) { notes.textContent = notes.textContent ? `${notes.textContent} ${text}` : text; },
    progress(pct) {
      bar.value = pct;
      if (r.state === 'uploading') state.textContent = `올리는 중… ${Math.round(pct)}%`;
    },
    ready(image) {
      r.set('ready', '확인 완료: 등록되었습니다.');
      if (image && image.thumbnail_url) result.replaceChildren(h('img', {src: image.thumbnail_url, alt: `${name} 미리보기`}));
    },
    // focusAction keeps the keyboard in the row after its button disappeared.
    focusAction() {
      const b = [retry, cancel, dismiss].find((x) => !x.hidden);
      if (b) b.focus();
    },
  };
  return r;
}
