// The professor/admin view of one scenario: upload several images straight to S3, follow each
// until the processor accepts or rejects it, pin the representative, delete with confirmation.
import {h, announce, errorBox, formatBytes, formatDate} from './dom.js';
import {request, listImages, scenarioPath, ApiError} from './api.js';
import {checkFile, ACCEPT} from './files.js';
import {shrinkPhoto, shrinkNote} from './shrink.js';

const POLL_MS = 1000;
const POLL_LIMIT = 120; // about two minutes; the processor normally answers within seconds
const PARALLEL = 3;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function renderProfessor(main, id) {
  document.title = `시나리오 ${id} 이미지 관리 · medicpx`;
  const err = errorBox();
  const input = h('input', {type: 'file', id: 'file-input', class: 'file-input', multiple: true, accept: ACCEPT,
    'aria-describedby': 'upload-help'});
  const drop = h('div', {class: 'drop', id: 'drop-zone'},
    h('p', {class: 'drop-title'}, '이미지 파일을 여기로 끌어다 놓거나'),
    input,
    h('label', {for: 'file-input', class: 'button primary'}, '파일 선택 (여러 개 가능)'),
    h('p', {id: 'upload-help', class: 'hint'}, 'JPEG, PNG, GIF, WebP · 파일당 최대 10MB(넘는 사진은 여기서 줄여서 올립니다). 올린 뒤 서버가 내용을 확인합니다.'));
  const uploads = h('ul', {id: 'uploads', class: 'uploads', 'aria-label': '올리는 파일'});
  const count = h('span', {id: 'image-count'});
  const grid = h('ul', {id: 'images', class: 'grid', 'aria-labelledby': 'images-title'});
  const confirm = confirmDialog();

  main.replaceChildren(
    h('p', {class: 'crumbs'}, h('a', {href: '/'}, '← 시나리오 선택')),
    h('h1', {}, `시나리오 ${id} 환자 이미지 관리`),
    err.el,
    h('section', {'aria-labelledby': 'upload-title'}, h('h2', {id: 'upload-title'}, '이미지 올리기'), drop, uploads),
    h('section', {'aria-labelledby': 'images-title'},
      h('h2', {id: 'images-title', tabindex: -1}, '등록된 이미지 ', count), grid),
    confirm.el);

  let refreshTimer = 0;
  let loading = Promise.resolve();

  // load lists the images and the representative together and redraws the grid.
  async function load() {
    clearTimeout(refreshTimer);
    try {
      const [list, rep] = await Promise.all([
        listImages(id),
        request('GET', `${scenarioPath(id)}/image`),
      ]);
      err.clear();
      draw(list.images || [], rep.image ? rep.image.s3_key : '');
      // Someone's upload is still being checked: look again shortly so it turns ready by itself.
      if ((list.images || []).some((im) => im.status !== 'ready')) refreshTimer = setTimeout(reload, 3000);
    } catch (e) {
      if (e.status !== 401) err.show(e.message);
    }
  }
  // reload runs loads one after another: a load that started before a change finishes first,
  // and the one asked for after the change then shows it.
  function reload() {
    loading = loading.then(load);
    return loading;
  }

  function draw(images, repKey) {
    count.textContent = `(${images.length}개)`;
    if (images.length === 0) {
      grid.replaceChildren(h('li', {class: 'empty'}, '아직 등록된 이미지가 없습니다. 위에서 이미지를 올려 주세요.'));
      return;
    }
    // Upload order (oldest first), so an image keeps its number when another is pinned.
    grid.replaceChildren(...images.map((im, i) => card(im, i + 1, im.s3_key === repKey)));
  }

  function card(im, n, isRep) {
    const label = `이미지 ${n}`;
    const ready = im.status === 'ready';
    const pic = ready
      ? h('img', {src: im.thumbnail_url, alt: `${label}${isRep ? ' (대표 이미지)' : ''}`, loading: 'lazy'})
      : h('div', {class: 'placeholder'}, '확인 중…');
    const pin = h('button', {type: 'button', class: 'pin', disabled: !ready || isRep, 'aria-pressed': isRep ? 'true' : 'false',
      'aria-label': isRep ? `${label}: 대표 이미지입니다` : `${label}을 대표 이미지로 지정`,
      onclick: async () => {
        pin.disabled = true;
        try {
          const resp = await request('PUT', `${scenarioPath(id)}/image`, {s3_key: im.s3_key});
          announce(resp.message || '대표 이미지를 지정했습니다.');
          await reload();
        } catch (e) {
          if (e.status !== 401) err.show(e.message);
          pin.disabled = false;
        }
      }}, isRep ? '대표 이미지' : '대표로 지정');
    const del = h('button', {type: 'button', class: 'danger delete', 'aria-label': `${label} 삭제`, onclick: async () => {
      if (!(await confirm.ask(im, label))) return;
      del.disabled = true;
      try {
        const resp = await request('DELETE', `/patient-images/${encodeURIComponent(id)}?s3_key=${encodeURIComponent(im.s3_key)}`);
        announce(resp.message || '삭제했습니다.');
        await reload();
        // The pressed button is gone: keep keyboard focus on the list.
        document.getElementById('images-title').focus();
      } catch (e) {
        if (e.status !== 401) err.show(e.message);
        del.disabled = false;
      }
    }}, '삭제');
    return h('li', {class: `tile${isRep ? ' rep' : ''}`, dataset: {key: im.s3_key, status: im.status, rep: String(isRep)}},
      pic,
      isRep ? h('span', {class: 'badge'}, '★ 대표') : null,
      h('p', {class: 'meta'}, h('strong', {}, label), ` · ${formatBytes(im.file_size)} · `,
        ready ? '확인 완료' : '확인 중', h('br'), h('span', {class: 'hint'}, formatDate(im.last_modified))),
      h('div', {class: 'row'}, pin, del));
  }

  // Files from the picker or a drop: each is checked here first, then uploaded a few at a time.
  function take(fileList) {
    const files = [...fileList];
    if (files.length === 0) return;
    const jobs = [];
    for (const f of files) {
      const row = uploadRow(f);
      uploads.prepend(row.el);
      const c = checkFile(f);
      if (c.error) row.fail('invalid', c.error);
      else jobs.push(() => uploadOne(row, f, c.type, c.shrink));
    }
    announce(`${files.length}개 파일을 받았습니다. ${jobs.length}개를 올립니다.`);
    const queue = [...jobs];
    const worker = async () => { while (queue.length) await queue.shift()(); };
    Promise.all(Array.from({length: Math.min(PARALLEL, queue.length)}, worker)).then(reload);
  }

  async function uploadOne(row, file, type, shrink) {
    try {
      let note = '';
      if (shrink) {
        row.set('uploading', '10MB가 넘어 사진 크기를 줄이는 중…');
        const small = await shrinkPhoto(file);
        note = shrinkNote(file.size, small.size);
        [file, type] = [small, small.type];
      }
      row.set('uploading', '업로드 준비 중…');
      const up = await request('POST', `/patient-images/upload-url/${encodeURIComponent(id)}`,
        {filename: file.name, content_type: type, content_length: file.size, method: 'PUT'});
      row.set('uploading', '올리는 중… 0%');
      await put(up, file, (pct) => row.progress(pct));
      if (note) row.note(note);
      row.set('processing', '올렸습니다. 서버가 이미지를 확인하는 중…');
      reload();
      const st = await follow(up.status_url);
      if (st.status === 'ready') {
        row.ready(st.image);
        if (st.removed_message) row.note(st.removed_message);
        announce(`${file.name}: 확인이 끝나 등록되었습니다.`);
        reload();
      } else {
        row.fail('rejected', `등록되지 않았습니다: ${st.message}`);
        announce(`${file.name}: 등록되지 않았습니다. ${st.message}`);
      }
    } catch (e) {
      if (e.status !== 401) {
        row.fail('failed', e.message);
        announce(`${file.name}: ${e.message}`);
      }
    }
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

  input.addEventListener('change', () => { take(input.files); input.value = ''; });
  for (const ev of ['dragenter', 'dragover']) {
    drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  drop.addEventListener('dragleave', (e) => { if (!drop.contains(e.relatedTarget)) drop.classList.remove('over'); });
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    take(e.dataTransfer.files);
  });
  // A file dropped next to the zone must not replace the page with the image.
  for (const ev of ['dragover', 'drop']) window.addEventListener(ev, (e) => e.preventDefault());

  reload();
}

// put sends the file to S3 with the presigned URL. XMLHttpRequest, because fetch reports no upload
// progress; the browser sets Content-Length from the body itself.
function put(up, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', up.upload_url);
    const headers = up.upload_headers || {'Content-Type': up.file_type};
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() !== 'content-length') xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress((e.loaded / e.total) * 100); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve();
        return;
      }
      const m = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText || '');
      reject(new Error(`저장소가 업로드를 받지 않았습니다 (HTTP ${xhr.status}${m ? `: ${m[1]}` : ''}). 다시 시도해 주세요.`));
    };
    xhr.onerror = () => reject(new Error('저장소에 연결하지 못해 업로드하지 못했습니다. 네트워크를 확인한 뒤 다시 시도해 주세요.'));
    xhr.send(file);
  });
}

// uploadRow is one file's line in the upload list: name, progress bar, state text, result.
function uploadRow(file) {
  const bar = h('progress', {max: 100, value: 0, 'aria-label': `${file.name} 업로드 진행률`});
  const state = h('p', {class: 'state'}, '대기 중');
  const result = h('div', {class: 'result'});
  const notes = h('p', {class: 'note hint'});
  const el = h('li', {class: 'upload', dataset: {file: file.name, state: 'waiting'}},
    h('p', {class: 'name'}, h('strong', {}, file.name), ` · ${formatBytes(file.size)}`), bar, state, notes, result);
  return {
    el,
    set(s, text) { el.dataset.state = s; state.textContent = text; },
    progress(pct) {
      bar.value = pct;
      if (el.dataset.state === 'uploading') state.textContent = `올리는 중… ${Math.round(pct)}%`;
    },
    // note adds a sentence that stays, whatever the state: what was done to the file.
    note(text) { notes.textContent = notes.textContent ? `${notes.textContent} ${text}` : text; },
    ready(image) {
      el.dataset.state = 'ready';
      state.textContent = '확인 완료: 등록되었습니다.';
      if (image && image.thumbnail_url) result.replaceChildren(h('img', {src: image.thumbnail_url, alt: `${file.name} 미리보기`}));
    },
    fail(s, text) {
      el.dataset.state = s;
      state.textContent = text;
      state.classList.add('error');
      if (s === 'invalid') bar.hidden = true;
    },
  };
}

// confirmDialog asks before deleting, with the image shown; Esc or 취소 keeps it.
function confirmDialog() {
  const pic = h('div', {class: 'confirm-pic'});
  const text = h('p', {id: 'confirm-text'});
  const el = h('dialog', {id: 'confirm-delete', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text'},
    h('form', {method: 'dialog'},
      h('h2', {id: 'confirm-title'}, '이미지를 삭제할까요?'),
      pic, text,
      h('div', {class: 'row end'},
        h('button', {type: 'submit', value: 'cancel', id: 'confirm-cancel', autofocus: true}, '취소'),
        h('button', {type: 'submit', value: 'delete', id: 'confirm-ok', class: 'danger'}, '삭제'))));
  return {
    el,
    ask(im, label) {
      if (el.open) return Promise.resolve(false); // one question at a time
      text.textContent = `${label}을(를) 삭제하면 원본과 미리보기가 모두 지워지며 되돌릴 수 없습니다.`;
      pic.replaceChildren(im.thumbnail_url ? h('img', {src: im.thumbnail_url, alt: label}) : '');
      el.returnValue = '';
      el.showModal();
      return new Promise((resolve) => {
        const onClose = () => {
          // The close event is queued: one from a previous question can arrive after this one
          // opened. Only a close that left the dialog shut answers this question.
          if (el.open) return;
          el.removeEventListener('close', onClose);
          resolve(el.returnValue === 'delete');
        };
        el.addEventListener('close', onClose);
      });
    },
  };
}
