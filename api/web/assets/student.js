// The student view of one scenario: the representative image large, the others as thumbnails
// that open large. The API lists only images that passed the checks for students.
import {h, errorBox} from './dom.js';
import {request, listImages, scenarioPath} from './api.js';

export async function renderStudent(main, id) {
  document.title = `시나리오 ${id} 환자 이미지 · medicpx`;
  const err = errorBox();
  const body = h('div', {id: 'viewer-body'}, h('p', {}, '불러오는 중…'));
  const viewer = viewerDialog();
  main.replaceChildren(
    h('p', {class: 'crumbs'}, h('a', {href: '/'}, '← 시나리오 선택')),
    h('h1', {}, `시나리오 ${id} 환자 이미지`), err.el, body, viewer.el);
  try {
    const [list, rep] = await Promise.all([
      listImages(id),
      request('GET', `${scenarioPath(id)}/image`),
    ]);
    const images = (list.images || []).filter((im) => im.status === 'ready');
    const hero = rep.image;
    const others = images.filter((im) => !hero || im.s3_key !== hero.s3_key);
    if (!hero && others.length === 0) {
      body.replaceChildren(h('p', {class: 'empty'}, '이 시나리오에는 아직 환자 이미지가 없습니다.'));
      return;
    }
    const parts = [];
    if (hero) {
      parts.push(h('figure', {class: 'hero', id: 'representative', dataset: {key: hero.s3_key}},
        h('img', {src: hero.display_url || hero.url, alt: `시나리오 ${id} 대표 환자 이미지`}),
        h('figcaption', {}, '대표 이미지')));
    }
    if (others.length > 0) {
      parts.push(h('h2', {id: 'others-title'}, hero ? '다른 이미지' : '환자 이미지'),
        h('ul', {class: 'thumbs', id: 'others', 'aria-labelledby': 'others-title'},
          others.map((im, i) => {
            const label = `환자 이미지 ${i + 1}`;
            return h('li', {dataset: {key: im.s3_key}},
              h('button', {type: 'button', class: 'thumb', 'aria-label': `${label} 크게 보기`,
                onclick: () => viewer.open(im.display_url || im.url, label)},
              h('img', {src: im.thumbnail_url, alt: label, loading: 'lazy'})));
          })));
    }
    body.replaceChildren(...parts);
  } catch (e) {
    body.replaceChildren();
    if (e.status !== 401) err.show(e.message);
  }
}

// viewerDialog shows one image large; Esc, the button or a click outside closes it.
function viewerDialog() {
  const img = h('img', {alt: ''});
  const caption = h('p', {id: 'large-caption'});
  const el = h('dialog', {id: 'large', class: 'large', 'aria-labelledby': 'large-caption'},
    h('form', {method: 'dialog'}, img, h('div', {class: 'row end'}, caption, h('button', {type: 'submit', autofocus: true}, '닫기'))));
  el.addEventListener('click', (e) => { if (e.target === el) el.close(); });
  return {
    el,
    open(src, label) {
      img.src = src;
      img.alt = `${label} (크게 보기)`;
      caption.textContent = label;
      el.showModal();
    },
  };
}
