// The upload list: each file is checked in the browser, uploaded straight to S3 with its presigned
// URL (a few at a time, with one total progress bar), then followed until the processor accepts or
// rejects it. Hospital Wi-Fi drops: a failed request is sent again by itself (backoff with
// jitter), the queue pauses while the browser is offline and goes on when it is back, and a row is
// only called failed after the status route said the upload did not arrive. "다시 시도" resends
// the same upload (the same key), so no retry can make a second image. Each file's SHA-256 goes
// with its upload URL request: S3 then refuses other bytes, and the API says when the scenario
// already has the same photo, which the page asks about before sending it. When a batch is over,
// the list folds to its summary and the new images.
import {h, announce, formatBytes, formatDate, srOnly, hasBatchim} from './dom.js';
import {request, scenarioPath, ApiError} from './api.js';
import {shrinkPhoto, shrinkNote} from './shrink.js';

const POLL_MS = 1000;
const POLL_LIMIT = 120; // about two minutes of answers; the processor normally answers within seconds
const PARALLEL = 3;
const SHOW_REJECTIONS_DAYS = 7;
// Retries: the delay before attempt n is BASE·2ⁿ capped at CAP, with "equal jitter" (half fixed,
// half random) so that rows which failed together do not come back together. Time offline is not
// counted: the queue waits for the connection instead.
const RETRY_BASE_MS = 1000;
const RETRY_CAP_MS = 15000;
const RETRY_ATTEMPTS = 6;
// A PUT that sends nothing for this long is stalled (a dead connection that never errors): it is
// aborted and sent again.
const STALL_MS = 45000;
// An upload URL is used again for a retry while it has at least this long left; else a fresh one
// is asked for the same key.
const URL_MARGIN_MS = 60000;

const OFFLINE_TEXT = '연결이 끊겼습니다 — 다시 연결되면 이어서 올립니다.';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const FINISHED = new Set(['ready', 'rejected', 'invalid', 'cancelled', 'skipped']);
const RUNNING = new Set(['waiting', 'preparing', 'uploading']);
const ARRIVED = new Set(['processing', 'ready', 'rejected']);

// backoff is the wait before retry number n (0-based).
export function backoff(n, random = Math.random) {
  const d = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** n);
  return d / 2 + random() * (d / 2);
}

// transient tells a failure worth sending again (no connection, the server or S3 busy or down)
// from one that the same request would meet again (refused, too large, not found). A PUT that S3
// answered 409 met another operation on its key (S3's OperationAborted and
// ConditionalRequestConflict say to try again; versitygw answers ExistingObjectIsDirectory while
// it removes an emptied folder, as shared/s3client retries in Go); the API's own 409s are final.
export function transient(e) {
  const s = e && typeof e.status === 'number' ? e.status : 0;
  return s === 0 || s === 408 || s === 429 || s >= 500 || (s === 409 && e instanceof PutError);
}

// sha256 is the standard base64 of the SHA-256 of the bytes, as S3's x-amz-checksum-sha256 takes
// it; '' where the browser has no SubtleCrypto (a page served over plain http to another host).
export async function sha256(blob) {
  if (!(globalThis.crypto && crypto.subtle)) return '';
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  let bin = '';
  for (const b of d) bin += String.fromCharCode(b);
  return btoa(bin);
}

// connection follows the browser's online/offline events: wait() resolves when it is online.
function connection(onChange) {
  let waiters = [];
  const st = {
    online: navigator.onLine !== false,
    wait() {
      if (st.online) return Promise.resolve();
      return new Promise((r) => waiters.push(r));
    },
  };
  window.addEventListener('offline', () => { st.online = false; onChange(false); });
  window.addEventListener('online', () => {
    st.online = true;
    const w = waiters;
    waiters = [];
    for (const r of w) r();
    onChange(true);
  });
  return st;
}

// uploadList builds the list for one scenario. onUploaded() is called when an upload reached S3
// or finished, so the page can show it in the grid. rules is files.js's fileRules of the API's
// policy: the check of each picked file and the size photos are shrunk to.
export function uploadList(scenario, onUploaded, rules) {
  const clearedKey = `medicpx.cleared.${scenario}`;
  const list = h('ul', {id: 'uploads', class: 'uploads', 'aria-label': '올리는 파일'});
  const summary = h('p', {id: 'upload-summary', class: 'summary', hidden: true});
  const clear = h('button', {type: 'button', id: 'clear-finished', class: 'small', hidden: true}, '완료된 항목 지우기');
  const expand = h('button', {type: 'button', id: 'upload-details', class: 'small', hidden: true, 'aria-expanded': 'false',
    'aria-controls': 'uploads'}, '파일별 결과 보기');
  // A line shown beside the summary but not announced: the sign-in dialog says why when it opens.
  const noticeEl = h('p', {id: 'upload-notice', class: 'hint', hidden: true});
  const offlineEl = h('p', {id: 'upload-offline', class: 'notice warn', hidden: true}, OFFLINE_TEXT);
  const totalBar = h('progress', {id: 'upload-total-bar', max: 100, value: 0, 'aria-labelledby': 'upload-total-text'});
  const totalText = h('p', {id: 'upload-total-text', class: 'total-text'});
  const total = h('div', {id: 'upload-total', class: 'upload-total', hidden: true}, totalText, totalBar);
  // What the last batch added, shown once the list folded: the batch's new images first.
  const freshList = h('ul', {id: 'upload-new', class: 'upload-new', 'aria-labelledby': 'upload-new-title'});
  const freshTitle = h('p', {id: 'upload-new-title', class: 'new-title'});
  const fresh = h('div', {class: 'upload-fresh', hidden: true}, freshTitle, freshList);
  const bar = h('div', {class: 'row upload-bar'}, summary, noticeEl, expand, clear);
  const dup = duplicateDialog();
  const rows = []; // this page's rows: the API's earlier rejections, then the picked files in pick order
  const queue = [];
  let workers = 0;
  let puts = 0; // S3 uploads on their way
  let putsDone = () => {};
  let announcedSummary = '';
  let batch = 0; // rows picked while nothing was running make a new batch
  let batchStart = 0;
  let expanded = false;

  const net = connection((online) => {
    offlineEl.hidden = online;
    if (online) {
      announce('다시 연결되었습니다. 남은 업로드를 이어서 올립니다.');
      pump();
    } else if (rows.some((r) => !FINISHED.has(r.state) && r.state !== 'failed')) {
      announce(OFFLINE_TEXT);
    }
    update();
  });
  offlineEl.hidden = net.online;

  clear.addEventListener('click', () => {
    for (const r of rows.filter((r) => FINISHED.has(r.state))) {
      r.el.remove();
      rows.splice(rows.indexOf(r), 1);
    }
    // Rejections read from the API before now stay cleared after a reload too.
    localStorage.setItem(clearedKey, new Date().toISOString());
    fresh.hidden = true;
    freshList.replaceChildren();
    update();
    announce('완료된 항목을 목록에서 지웠습니다.');
    clear.hidden = true;
    document.getElementById('file-input').focus();
  });

  expand.addEventListener('click', () => {
    expanded = !expanded;
    fold();
  });

  // fold hides the rows of finished batches that need nothing more (registered ones), unless the
  // person asked to see them; rows that went wrong stay, since they need reading.
  function fold() {
    const folded = rows.filter((r) => r.folded);
    for (const r of folded) r.el.hidden = !expanded;
    expand.hidden = folded.length === 0;
    expand.setAttribute('aria-expanded', String(expanded));
    expand.firstChild.textContent = expanded ? '파일별 결과 접기' : `파일별 결과 보기 (${folded.length}개)`;
  }

  function update() {
    const own = rows.filter((r) => !r.fromServer);
    const count = (s) => own.filter((r) => s.includes(r.state)).length;
    const all = own.length;
    const ready = count(['ready']);
    const rejected = count(['rejected', 'invalid']);
    const failed = count(['failed']);
    const cancelled = count(['cancelled']);
    const skipped = count(['skipped']);
    const busy = all - ready - rejected - failed - cancelled - skipped;
    let text = all ? `${all}개 중 ${ready}개 등록, ${rejected}개 거부` : '';
    if (failed) text += `, ${failed}개 실패`;
    if (cancelled) text += `, ${cancelled}개 취소`;
    if (skipped) text += `, ${skipped}개 건너뜀`;
    if (busy) text += `, ${busy}개 진행 중`;
    summary.textContent = text;
    summary.hidden = !text;
    clear.hidden = !rows.some((r) => FINISHED.has(r.state));
    progress(busy);
    // Said once, when the batch is over (a screen reader hears each file as it finishes too).
    if (all && !busy && text !== announcedSummary) {
      announcedSummary = text;
      announce(`업로드 결과: ${text}.`);
      batchDone();
    }
  }

  // progress draws the one bar of the running batch: bytes sent, files finished, time left.
  function progress(busy) {
    const mine = rows.filter((r) => !r.fromServer && r.batch === batch && r.state !== 'invalid' && r.state !== 'cancelled' && r.state !== 'skipped');
    if (!busy || mine.length === 0) {
      total.hidden = true;
      return;
    }
    const size = mine.reduce((n, r) => n + r.size, 0);
    const sent = mine.reduce((n, r) => n + Math.min(r.loaded, r.size), 0);
    const done = mine.filter((r) => FINISHED.has(r.state) || r.state === 'processing' || r.state === 'failed').length;
    total.hidden = false;
    totalBar.value = size ? Math.round((sent / size) * 100) : 0;
    let text = `${mine.length}개 중 ${done}개 보냄 · ${formatBytes(sent)} / ${formatBytes(size)}`;
    const elapsed = (Date.now() - batchStart) / 1000;
    if (!net.online) text += ' · 연결을 기다리는 중';
    else if (sent > 0 && sent < size && elapsed > 1) {
      const left = Math.ceil(((size - sent) / (sent / elapsed)));
      text += ` · 약 ${left < 60 ? `${left}초` : `${Math.ceil(left / 60)}분`} 남음`;
    }
    totalText.textContent = text;
  }

  // batchDone folds the finished batch to its summary and shows the images it added.
  function batchDone() {
    const mine = rows.filter((r) => !r.fromServer && r.batch === batch);
    const added = mine.filter((r) => r.state === 'ready' && r.image);
    for (const r of mine) if (r.state === 'ready') r.folded = true;
    expanded = false;
    fold();
    if (added.length) {
      freshTitle.textContent = `방금 올린 이미지 ${added.length}개 (아래 '등록된 이미지'에도 있습니다)`;
      freshList.replaceChildren(...added.map((r) => h('li', {dataset: {key: r.key}},
        r.image.thumbnail_url ? h('img', {src: r.image.thumbnail_url, alt: `${r.file.name} 미리보기`}) : null,
        h('span', {class: 'hint'}, r.file.name))));
    }
    fresh.hidden = added.length === 0;
  }

  function addRow(file, opts = {}) {
    // "다시 시도" on a photo left out as a duplicate means: send it after all.
    const r = row(file, opts, {retry: () => { if (r.state === 'skipped') r.confirmedDuplicate = true; start(r, true); }, cancel: () => cancel(r), dismiss: () => dismiss(r)});
    if (opts.fromServer) {
      // Earlier rejections (newest first from the API) go above this page's own rows.
      const first = rows.find((x) => !x.fromServer);
      rows.splice(first ? rows.indexOf(first) : rows.length, 0, r);
      list.insertBefore(r.el, first ? first.el : null);
    } else {
      rows.push(r);
      list.append(r.el);
    }
    return r;
  }

  function dismiss(r) {
    r.el.remove();
    rows.splice(rows.indexOf(r), 1);
    update();
    document.getElementById('file-input').focus();
  }

  function start(r, again = false) {
    r.cancelled = false;
    if (!again) {
      const c = rules.check(r.file);
      if (c.error) {
        r.set('invalid', c.error);
        settle(r, new Error(c.error));
        update();
        return;
      }
      r.type = c.type;
      r.shrink = !!c.shrink;
    }
    if (!rows.some((x) => x !== r && !x.fromServer && !FINISHED.has(x.state) && x.state !== 'failed')) {
      batch++;
      batchStart = Date.now();
      fresh.hidden = true;
    }
    r.batch = batch;
    r.folded = false;
    r.el.hidden = false;
    r.loaded = 0;
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
    // Offline, nothing new starts: it would only fail.
    while (net.online && workers < PARALLEL && queue.length) {
      workers++;
      const r = queue.shift();
      uploadOne(r).finally(() => {
        workers--;
        update();
        pump();
      });
    }
  }

  // retrying runs fn until it succeeds, fails for good (not transient), or has failed attempts
  // times while online; each wait is a backoff, and offline time waits for the connection.
  async function retrying(r, fn, attempts = RETRY_ATTEMPTS) {
    for (let n = 0; ; n++) {
      await net.wait();
      if (r.cancelled) throw new Cancelled();
      try {
        return await fn();
      } catch (e) {
        if (e instanceof Cancelled || r.cancelled) throw new Cancelled();
        if (!transient(e) || n + 1 >= attempts) throw e;
        await sleep(backoff(n));
        // Offline: the attempt does not count.
        if (!net.online) n--;
      }
    }
  }

  // uploadURL asks for the row's upload URL: a new upload, or the same one again (same key) when
  // the row has one already. It answers null when that upload already arrived (409).
  async function uploadURL(r) {
    const body = {filename: r.send.name.normalize('NFC'), content_type: r.sendType, content_length: r.send.size, method: 'PUT'};
    if (r.checksum) body.checksum_sha256 = r.checksum;
    if (r.up) body.s3_key = r.up.s3_key;
    try {
      const up = await retrying(r, () => request('POST', `/patient-images/upload-url/${encodeURIComponent(scenario)}`, body));
      return {...up, at: Date.now()};
    } catch (e) {
      if (r.up && e instanceof ApiError && e.status === 409) return null;
      if (r.up && e instanceof ApiError && e.status === 404) {
        // The earlier upload never arrived and is gone (expired): a new one can make no second image.
        delete body.s3_key;
        r.up = null;
        const up = await retrying(r, () => request('POST', `/patient-images/upload-url/${encodeURIComponent(scenario)}`, body));
        return {...up, at: Date.now()};
      }
      throw e;
    }
  }

  // arrived asks the status route whether the row's upload reached S3 (an answer lost on the way
  // back looks like a failure). Unknown (no connection) counts as not known: null.
  async function arrived(r) {
    if (!r.up) return false;
    try {
      const st = await retrying(r, () => request('GET', r.up.status_url), 3);
      return ARRIVED.has(st.status);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return false;
      if (e instanceof Cancelled) throw e;
      return null;
    }
  }

  // twinOf is the row of this page still on its way that holds the same bytes as r (two copies
  // of one file in a batch: the API cannot know yet; a registered one the API names itself). Rows claim their bytes
  // synchronously after this check, so of two twins checked together one sees the other.
  function twinOf(r) {
    if (!r.checksum) return null;
    return rows.find((x) => x !== r && x.checksum === r.checksum && !x.fromServer && x.claimed &&
      !['cancelled', 'skipped', 'invalid', 'failed', 'rejected', 'ready'].includes(x.state)) || null;
  }

  async function uploadOne(r) {
    try {
      if (!r.send) {
        let file = r.file;
        let type = r.type;
        if (r.shrink) {
          // Phone photos over the limit are shrunk here, upright, instead of being refused.
          r.set('preparing', `${rules.maxLabel}가 넘어 사진 크기를 줄이는 중…`);
          const small = await shrinkPhoto(file, rules.maxBytes);
          if (r.cancelled) return;
          r.shrinkNote = shrinkNote(file.size, small.size);
          [file, type] = [small, small.type];
        }
        r.set('preparing', '업로드 준비 중…');
        // The checksum of exactly the bytes that will be sent (after any shrinking).
        r.checksum = await sha256(file);
        [r.send, r.sendType, r.size] = [file, type, file.size];
      }
      if (r.cancelled) return;
      r.set('preparing', '업로드 준비 중…');
      let sent = false;
      if (r.up && (await arrived(r))) sent = true; // a retry of an upload that did arrive
      if (!sent) {
        const twin = twinOf(r);
        if (twin && !r.confirmedDuplicate) {
          r.set('preparing', '같은 사진인지 확인을 기다리는 중…');
          if (!(await dup.ask(r.file.name, twin.file.name, '', '이 목록'))) return skip(r);
          r.confirmedDuplicate = true;
        }
        r.claimed = true;
        if (!r.up || Date.now() > r.up.at + r.up.expires_in * 1000 - URL_MARGIN_MS) {
          const up = await uploadURL(r);
          if (up === null) sent = true;
          else r.up = up;
        }
        if (r.cancelled) return;
        r.key = r.up.s3_key;
        if (!sent && r.up.duplicate_of && !r.confirmedDuplicate) {
          r.set('preparing', '같은 사진인지 확인을 기다리는 중…');
          if (!(await dup.ask(r.file.name, '', r.up.duplicate_of.s3_url, '이 시나리오'))) return skip(r);
          r.confirmedDuplicate = true;
        }
        if (!r.warned) {
          // The name is staff-only, so the API takes it, but says when it looks like it names a patient.
          for (const w of r.up.warnings || []) r.note(w);
          r.warned = true;
        }
      }
      r.key = r.up.s3_key;
      if (!sent) await sendPUT(r);
      if (r.shrinkNote && !r.noted) { r.note(r.shrinkNote); r.noted = true; }
      r.loaded = r.size;
      r.set('processing', '올렸습니다. 서버가 이미지를 확인하는 중…');
      update();
      onUploaded();
      const st = await follow(r);
      if (st.status === 'ready') {
        r.ready(st.image);
        if (st.removed_message) r.note(st.removed_message);
        announce(`${r.file.name}: 확인이 끝나 등록되었습니다.`);
        settle(r, null, {key: r.key, image: st.image});
      } else {
        r.set('rejected', `등록되지 않았습니다: ${st.message}`);
        announce(`${r.file.name}: 등록되지 않았습니다. ${st.message}`);
        settle(r, new Error(`등록되지 않았습니다: ${st.message}`));
      }
      onUploaded();
    } catch (e) {
      if (r.cancelled || e instanceof Cancelled) return;
      r.set('failed', e.message);
      announce(`${r.file.name}: ${e.message}`);
      settle(r, e);
    }
  }

  function skip(r) {
    r.set('skipped', '이미 올린 사진과 같아 올리지 않았습니다.');
    announce(`${r.file.name}: 이미 올린 사진과 같아 올리지 않았습니다.`);
    settle(r, new Error('이미 올린 사진과 같아 올리지 않았습니다.'));
  }

  // sendPUT sends the row's bytes to its upload URL until S3 took them. Before each resend it asks
  // whether the last one arrived after all; an expired URL is renewed for the same key.
  async function sendPUT(r) {
    for (let n = 0; ; n++) {
      await net.wait();
      if (r.cancelled) throw new Cancelled();
      r.set('uploading', '올리는 중… 0%');
      let failure = null;
      puts++;
      try {
        await put(r, r.send, r.up, (loaded) => { r.loaded = loaded; r.progress(r.size ? (loaded / r.size) * 100 : 100); progress(1); });
      } catch (e) {
        failure = e;
      } finally {
        // Counted down before any status question: a refused token waits for putsIdle().
        if (--puts === 0) putsDone();
      }
      if (!failure) return;
      const e = failure;
      if (r.cancelled || e instanceof Cancelled) throw new Cancelled();
      r.loaded = 0;
      const got = await arrived(r);
      if (got) return;
      if (e.expired) {
        const up = await uploadURL(r);
        if (up === null) return;
        r.up = up;
      } else if (!transient(e) || (n + 1 >= RETRY_ATTEMPTS && got === false) || n >= 3 * RETRY_ATTEMPTS) {
        throw e;
      }
      r.set('uploading', net.online ? '연결이 불안정해 다시 보내는 중…' : OFFLINE_TEXT);
      if (!e.expired) await sleep(backoff(n));
      if (!net.online) n--;
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

  // follow polls an upload's status until the processor has decided. A dropped connection is
  // waited out: the upload is in S3 and the processor works on it either way.
  async function follow(r) {
    let missing = 0;
    let errors = 0;
    for (let i = 0; i < POLL_LIMIT;) {
      await sleep(errors ? backoff(Math.min(errors, 4)) : POLL_MS);
      await net.wait();
      try {
        const st = await request('GET', r.up.status_url);
        errors = 0;
        i++;
        if (st.status === 'ready' || st.status === 'rejected') return st;
      } catch (e) {
        if (transient(e) && ++errors <= 30) continue;
        // Briefly missing while the processor moves a rejected file: look again a few times.
        if (!(e instanceof ApiError) || e.status !== 404 || ++missing > 5) throw e;
        i++;
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
    for (const rj of data.rejections || []) {
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
    nodes: [offlineEl, total, bar, fresh, list, dup.el],
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

class Cancelled extends Error {}

// PutError is a PUT S3 did not take: status 0 when no answer came; expired when the URL's time
// was over (a fresh URL for the same key then works).
class PutError extends Error {
  constructor(status, message, expired = false) {
    super(message);
    this.status = status;
    this.expired = expired;
  }
}

// put sends the file to S3 with the presigned URL. XMLHttpRequest, because fetch reports no upload
// progress; the browser sets Content-Length from the body itself.
function put(r, file, up, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    r.xhr = xhr;
    let stall = 0;
    const watch = () => {
      clearTimeout(stall);
      stall = setTimeout(() => { r.stalled = true; xhr.abort(); }, STALL_MS);
    };
    const end = () => { clearTimeout(stall); r.xhr = null; };
    xhr.open('PUT', up.upload_url);
    const headers = up.upload_headers || {'Content-Type': up.file_type};
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() !== 'content-length') xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => { watch(); if (e.lengthComputable) onProgress(e.loaded); };
    xhr.onload = () => {
      end();
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size);
        resolve();
        return;
      }
      const body = xhr.responseText || '';
      const m = /<Message>([^<]*)<\/Message>/.exec(body);
      const expired = xhr.status === 403 && /expired/i.test(body);
      reject(new PutError(xhr.status, `저장소가 업로드를 받지 않았습니다 (HTTP ${xhr.status}${m ? `: ${m[1]}` : ''}). 다시 시도해 주세요.`, expired));
    };
    xhr.onerror = () => {
      end();
      reject(new PutError(0, '저장소에 연결하지 못해 업로드하지 못했습니다. 네트워크를 확인한 뒤 다시 시도해 주세요.'));
    };
    xhr.onabort = () => {
      end();
      // A stalled PUT was aborted here, not by the person: it is sent again.
      if (r.stalled) {
        r.stalled = false;
        reject(new PutError(0, '업로드가 멈춰 다시 보내야 합니다.'));
        return;
      }
      reject(new Cancelled('취소했습니다.'));
    };
    watch();
    xhr.send(file);
  });
}

// quoted is 'name' with the particle its last sound takes.
const quoted = (name, withBatchim, without) => `'${name}'${hasBatchim(name) ? withBatchim : without}`;

// duplicateDialog asks, one photo at a time, whether to send a photo the scenario (or this list)
// already has. ask resolves to true for "그래도 올리기".
function duplicateDialog() {
  const text = h('p', {id: 'duplicate-text'});
  const pic = h('div', {class: 'confirm-pic'});
  const el = h('dialog', {id: 'duplicate', 'aria-labelledby': 'duplicate-title', 'aria-describedby': 'duplicate-text'},
    h('form', {method: 'dialog'},
      h('h2', {id: 'duplicate-title'}, '이미 올린 사진과 같습니다'),
      pic, text,
      h('div', {class: 'row end'},
        h('button', {type: 'submit', value: 'skip', id: 'duplicate-skip', autofocus: true}, '올리지 않기'),
        h('button', {type: 'submit', value: 'upload', id: 'duplicate-upload', class: 'primary'}, '그래도 올리기'))));
  let chain = Promise.resolve();
  return {
    el,
    ask(name, twinName, src, where) {
      const answer = chain.then(() => new Promise((resolve) => {
        text.textContent = twinName
          ? `${quoted(name, '은', '는')} 함께 올리는 ${quoted(twinName, '과', '와')} 내용이 똑같은 파일입니다. 그래도 둘 다 올릴까요?`
          : `${quoted(name, '과', '와')} 똑같은 사진이 ${where}에 이미 등록되어 있습니다. 그래도 한 번 더 올릴까요?`;
        pic.replaceChildren(src ? h('img', {src, alt: '이미 등록된 같은 사진'}) : '');
        el.returnValue = '';
        const back = document.activeElement;
        el.showModal();
        el.addEventListener('close', () => {
          resolve(el.returnValue === 'upload');
          if (back && back.isConnected) back.focus();
        }, {once: true});
      }));
      chain = answer.catch(() => {});
      return answer;
    },
  };
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
    size: Math.max(file.size, 0), loaded: 0, batch: 0, folded: false, up: null, image: null,
    set(s, text) {
      r.state = s;
      el.dataset.state = s;
      state.textContent = text;
      state.classList.toggle('error', ['invalid', 'rejected', 'failed'].includes(s));
      bar.hidden = r.fromServer || s === 'invalid' || s === 'cancelled' || s === 'skipped';
      if (s === 'waiting' || s === 'preparing') bar.value = 0;
      cancel.hidden = !RUNNING.has(s);
      retry.hidden = !(s === 'failed' || s === 'cancelled' || s === 'skipped');
      dismiss.hidden = s !== 'failed';
    },
    // note adds a sentence that stays, whatever the state: what was done to the file.
    note(text) { notes.textContent = notes.textContent ? `${notes.textContent} ${text}` : text; },
    progress(pct) {
      bar.value = pct;
      if (r.state === 'uploading') state.textContent = `올리는 중… ${Math.round(pct)}%`;
    },
    ready(image) {
      r.image = image || null;
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
