// The student view of one scenario: the representative image large, the others as thumbnails, all
// in the order the professors chose and numbered as they number them; any of them (the
// representative too) opens the large view. The API lists only checked images for students.
import {h, errorBox, srOnly} from './dom.js';
import {request, listImages, scenarioPath} from './api.js';
import {viewerDialog, imageName, captionOf, altOf, clampText} from './viewer.js';

export async function renderStudent(main, id) {
  document.title = `시나리오 ${id} 환자 이미지 · medicpx`;
  const err = errorBox();
  const body = h('div', {id: 'viewer-body'}, h('p', {}, '불러오는 중…'));
  let items = [];
  const viewer = viewerDialog(async (im) => {
    await load();
    return items.find((x) => x.s3_key === im.s3_key) || null;
  }, {scenario: id});
  // A caption may be 500 characters (and is then the image's label too): a few lines show, and
  // "더 보기" the rest, so one caption never makes its column thousands of pixels tall.
  const described = (...parts) => {
    const box = h('div', {class: 'described'}, ...parts);
    return [box, clampText(box)];
  };
  main.replaceChildren(
    h('p', {class: 'crumbs'}, h('a', {href: '/'}, '← 시나리오 선택')),
    h('h1', {}, `시나리오 ${id} 환자 이미지`), err.el, body, viewer.el);

  // Never a broken icon: an image whose link expired or that was deleted meanwhile says so, and
  // the page asks for the list again (with fresh links).
  let reloading = 0;
  const picture = (src, alt, extra = {}) => {
    const img = h('img', {src, alt, draggable: 'false', ...extra});
    img.addEventListener('error', () => {
      img.replaceWith(h('span', {class: 'placeholder'}, '이미지를 다시 불러오는 중…'));
      if (!reloading) reloading = setTimeout(() => { reloading = 0; draw(); }, 500);
    }, {once: true});
    return img;
  };

  async function load() {
    const [list, rep] = await Promise.all([
      listImages(id),
      request('GET', `${scenarioPath(id)}/image`),
    ]);
    items = (list.images || []).filter((im) => im.status === 'ready').map((im, i) => ({...im, number: i + 1}));
    return rep.image ? rep.image.s3_key : '';
  }

  async function draw() {
    try {
      const heroKey = await load();
      err.clear();
      const hero = items.find((im) => im.s3_key === heroKey);
      const others = items.filter((im) => im !== hero);
      if (items.length === 0) {
        body.replaceChildren(h('p', {class: 'empty'}, '이 시나리오에는 아직 이미지가 없습니다. 시나리오 ID가 맞는지 확인하려면 ', h('a', {href: '/'}, '처음 화면'), '으로 돌아가세요.'));
        return;
      }
      // By key: a refresh (fresh links) replaces the items. An image no longer listed is shown
      // alone, and the large view then says it was deleted.
      const open = (im) => (e) => {
        const i = items.findIndex((x) => x.s3_key === im.s3_key);
        if (i < 0) viewer.show([im], 0, e.currentTarget);
        else viewer.show(items, i, e.currentTarget);
      };
      const parts = [];
      if (hero) {
        parts.push(h('figure', {class: 'hero', id: 'representative', dataset: {key: hero.s3_key}},
          h('button', {type: 'button', class: 'hero-open', dataset: {key: hero.s3_key, control: 'view'}, onclick: open(hero)},
            picture(hero.display_url || hero.url, altOf(hero)), srOnly(' 크게 보기')),
          h('figcaption', {}, ...described(
            h('strong', {}, `대표 이미지 · ${hero.number}. ${imageName(hero)}`),
            captionOf(hero) ? h('span', {class: 'caption'}, captionOf(hero)) : null))));
      }
      if (others.length > 0) {
        parts.push(h('h2', {id: 'others-title'}, hero ? '다른 이미지' : '환자 이미지'),
          h('ul', {class: 'thumbs', id: 'others', 'aria-labelledby': 'others-title'},
            others.map((im) => h('li', {dataset: {key: im.s3_key}},
              h('figure', {},
                h('button', {type: 'button', class: 'thumb', dataset: {key: im.s3_key, control: 'view'}, onclick: open(im)},
                  picture(im.thumbnail_url, altOf(im), {loading: 'lazy'}), srOnly(' 크게 보기')),
                h('figcaption', {}, ...described(
                  h('strong', {}, `${im.number}. ${imageName(im)}`),
                  captionOf(im) ? h('span', {class: 'caption'}, captionOf(im)) : null)))))));
      }
      body.replaceChildren(...parts);
    } catch (e) {
      body.replaceChildren();
      if (e.status !== 401) err.show(e.message);
    }
  }
  await draw();
}
