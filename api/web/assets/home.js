// The scenario home: open a scenario by its ID (with what an ID is), the scenarios this browser
// opened lately, and for staff every scenario that has images (GET /patient-images/scenarios),
// each with its cover, image count and last change, with a search box over them.
import {h, errorBox, formatDate} from './dom.js';
import {request, scenarioPath} from './api.js';

const RECENT_KEY = 'medicpx.recent';
const RECENT_MAX = 8;
const PAGE = 200;

// recent is the scenarios this browser opened, newest first: [{id, at}].
export function recent() {
  try {
    const v = JSON.parse(localStorage.getItem(RECENT_KEY) || '[]');
    return Array.isArray(v) ? v.filter((x) => x && typeof x.id === 'string') : [];
  } catch {
    return [];
  }
}

// remember puts id first among the recent scenarios.
export function remember(id) {
  const list = [{id, at: new Date().toISOString()}, ...recent().filter((x) => x.id !== id)].slice(0, RECENT_MAX);
  try { localStorage.setItem(RECENT_KEY, JSON.stringify(list)); } catch { /* storage full or off: only the list is lost */ }
}

// renderHome fills main with the home for who (the API's /patient-images/me answer).
export function renderHome(main, who) {
  const idRE = new RegExp(who.policy.scenario_id_pattern);
  document.title = '시나리오 선택 · medicpx 환자 이미지';
  const err = errorBox();
  const input = h('input', {id: 'scenario-input', name: 'scenario', required: true, inputmode: 'text',
    autocomplete: 'off', 'aria-describedby': 'scenario-help'});
  const form = h('form', {class: 'card', id: 'open-form', onsubmit: (e) => {
    e.preventDefault();
    const id = input.value.trim();
    if (!idRE.test(id)) {
      err.show(/\s/.test(id)
        ? `'${id}'는 시나리오 ID가 아닙니다. 시나리오 이름이 아니라 CPX 플랫폼이 시나리오에 붙인 ID(예: 12)를 넣어 주세요. ID는 영문, 숫자, 밑줄(_), 하이픈(-)으로 된 1~64자이고 띄어쓰기가 없습니다.`
        : '시나리오 ID는 영문, 숫자, 밑줄(_), 하이픈(-)으로 된 1~64자입니다.');
      input.focus();
      return;
    }
    location.assign(`/scenarios/${id}`);
  }},
  h('label', {for: 'scenario-input'}, '시나리오 ID'),
  h('p', {id: 'scenario-help', class: 'hint'},
    '시나리오 ID는 CPX 플랫폼이 각 시나리오에 붙인 짧은 번호나 코드입니다(시나리오 이름이 아닙니다). ',
    '플랫폼의 시나리오 주소 끝이나 시나리오 정보 화면에서 볼 수 있습니다. 예: 1, 12, abdominal-pain-01'),
  h('div', {class: 'row'}, input, h('button', {type: 'submit', class: 'primary'}, '열기')));

  const mine = recent();
  const known = new Map(); // scenario id → the API's entry (cover, count, last change)
  const covers = new Map(); // scenario id → its representative's thumbnail, for recent ones not listed
  const recentList = h('ul', {id: 'recent', class: 'scenarios', 'aria-labelledby': 'recent-title'});
  const recentSection = h('section', {'aria-labelledby': 'recent-title', hidden: mine.length === 0},
    h('h2', {id: 'recent-title'}, '최근에 연 시나리오'), recentList);
  const search = h('input', {type: 'search', id: 'scenario-search', autocomplete: 'off', 'aria-describedby': 'search-help'});
  const allList = h('ul', {id: 'scenario-list', class: 'scenarios', 'aria-labelledby': 'all-title', 'aria-busy': 'true'});
  const allErr = errorBox();
  const more = h('button', {type: 'button', id: 'scenario-more', hidden: true}, '더 보기');
  const found = h('p', {id: 'search-result', class: 'hint', role: 'status'});
  const allSection = who.can_upload ? h('section', {'aria-labelledby': 'all-title'},
    h('h2', {id: 'all-title'}, '이미지가 있는 시나리오'),
    h('label', {for: 'scenario-search'}, '시나리오 찾기'),
    h('p', {id: 'search-help', class: 'hint'}, 'ID의 일부를 넣으면 아래 목록과 최근 목록을 줄여 보여 줍니다.'),
    search, found, allErr.el, allList, more) : null;

  let all = [];
  let cursor = '';
  let loaded = false; // a page of the list arrived: only then is an empty list true

  const matches = (id) => id.toLowerCase().includes(search.value.trim().toLowerCase());

  function item(id, e, when) {
    const src = e ? e.thumbnail_url : covers.get(id);
    const cover = src
      ? h('img', {src, alt: '', loading: 'lazy'})
      : h('span', {class: 'placeholder', 'aria-hidden': 'true'}, '표지 없음');
    const facts = [];
    if (e) facts.push(`이미지 ${e.image_count}개`, `마지막 변경 ${formatDate(e.last_modified)}`);
    else if (when) facts.push(`${formatDate(when)}에 열어 봄`);
    return h('li', {dataset: {scenario: id}},
      h('a', {class: 'scenario', href: `/scenarios/${encodeURIComponent(id)}`},
        cover,
        h('span', {class: 'scenario-text'}, h('strong', {}, `시나리오 ${id}`), h('span', {class: 'hint'}, facts.join(' · ')))));
  }

  function draw() {
    const q = search.value.trim();
    const rec = mine.filter((x) => matches(x.id));
    recentList.replaceChildren(...rec.map((x) => item(x.id, known.get(x.id), x.at)));
    recentSection.hidden = rec.length === 0;
    if (!allSection) return;
    const shown = all.filter((e) => matches(e.scenario_id));
    allList.replaceChildren(...shown.map((e) => item(e.scenario_id, e)));
    if (loaded && all.length === 0 && !cursor) {
      allList.replaceChildren(h('li', {class: 'empty'}, '아직 이미지가 있는 시나리오가 없습니다. 위에서 시나리오 ID를 열어 이미지를 올려 주세요.'));
    } else if (q && shown.length === 0) {
      allList.replaceChildren(h('li', {class: 'empty'}, `'${q}'가 들어간 ID의 시나리오는 아직 이미지가 없습니다.`));
    }
    found.textContent = q ? `${new Set([...rec.map((x) => x.id), ...shown.map((e) => e.scenario_id)]).size}개 찾음` : '';
  }

  async function page() {
    allList.setAttribute('aria-busy', 'true');
    try {
      const q = new URLSearchParams({limit: String(PAGE)});
      if (cursor) q.set('cursor', cursor);
      const data = await request('GET', `/patient-images/scenarios?${q}`);
      for (const e of data.scenarios || []) known.set(e.scenario_id, e);
      all = all.concat(data.scenarios || []);
      cursor = data.next_cursor || '';
      loaded = true;
      allErr.clear();
    } catch (e) {
      allErr.show(`시나리오 목록을 불러오지 못했습니다: ${e.message}`);
    } finally {
      allList.setAttribute('aria-busy', 'false');
      more.hidden = !cursor;
      draw();
    }
  }

  search.addEventListener('input', draw);
  more.addEventListener('click', page);
  main.replaceChildren(h('h1', {}, '시나리오 선택'),
    h('p', {}, who.can_upload
      ? '환자 이미지를 올리거나 관리할 시나리오를 여세요.'
      : '실습할 시나리오의 환자 이미지를 보려면 시나리오를 여세요.'),
    ...[err.el, form, recentSection, allSection].filter(Boolean));
  draw();
  (allSection ? page() : Promise.resolve()).then(recentCovers);

  // recentCovers fetches the representative of each recent scenario the list did not bring (a
  // student's home has no list; a few calls, at most RECENT_MAX).
  async function recentCovers() {
    const missing = mine.filter((x) => !known.has(x.id));
    await Promise.all(missing.map(async (x) => {
      try {
        const rep = await request('GET', `${scenarioPath(x.id)}/image`);
        if (rep.image && rep.image.thumbnail_url) covers.set(x.id, rep.image.thumbnail_url);
      } catch { /* no cover: the entry still opens the scenario */ }
    }));
    if (missing.length) draw();
  }
}
