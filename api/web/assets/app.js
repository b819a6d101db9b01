// Entry point: reads the address and the token, then shows sign-in, the scenario picker, or a
// scenario (professor/admin: manage; anyone else: view).
import {h, errorBox} from './dom.js';
import {token, validToken, setToken, takeFlash, signOut, toSignIn, onTokenChange, claims, roleOf, isStaff, ROLE_NAMES} from './api.js';
import {signInForm} from './signin.js';
import {renderProfessor} from './professor.js';
import {renderStudent} from './student.js';

const SCENARIO_RE = /^[A-Za-z0-9_-]{1,64}$/;
const main = document.getElementById('main');

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function header(c, role) {
  const who = document.getElementById('who');
  const out = document.getElementById('sign-out');
  if (!c) {
    who.textContent = '';
    out.hidden = true;
    return;
  }
  who.textContent = `${ROLE_NAMES[role] || role || '역할 없음'}${c.sub ? ` · ${c.sub}` : ''}`;
  out.hidden = false;
  out.onclick = () => signOut('로그아웃했습니다.');
}

// safeNext keeps the return address on this site's scenario pages only.
function safeNext() {
  const next = new URLSearchParams(location.search).get('next') || '';
  return /^\/scenarios\/[A-Za-z0-9_-]{1,64}$/.test(next) ? next : '/';
}

function renderSignIn(flash) {
  document.title = '로그인 · medicpx 환자 이미지';
  const form = signInForm((tok) => {
    setToken(tok);
    location.assign(safeNext());
  });
  const parts = [h('h1', {}, '로그인')];
  if (flash) parts.push(h('p', {class: 'notice', role: 'status'}, flash));
  show(...parts, ...form.parts);
}

function renderPicker(role) {
  document.title = '시나리오 선택 · medicpx 환자 이미지';
  const err = errorBox();
  const input = h('input', {id: 'scenario-input', name: 'scenario', required: true, inputmode: 'text',
    autocomplete: 'off', 'aria-describedby': 'scenario-help'});
  const form = h('form', {class: 'card', onsubmit: (e) => {
    e.preventDefault();
    const id = input.value.trim();
    if (!SCENARIO_RE.test(id)) {
      err.show('시나리오 ID는 영문, 숫자, 밑줄(_), 하이픈(-)으로 된 1~64자입니다.');
      input.focus();
      return;
    }
    location.assign(`/scenarios/${id}`);
  }},
  h('label', {for: 'scenario-input'}, '시나리오 ID'),
  h('p', {id: 'scenario-help', class: 'hint'}, '예: 1, 2, 3'),
  h('div', {class: 'row'}, input, h('button', {type: 'submit', class: 'primary'}, '열기')));
  show(h('h1', {}, '시나리오 선택'),
    h('p', {}, isStaff(role)
      ? '환자 이미지를 올리거나 관리할 시나리오를 여세요.'
      : '실습할 시나리오의 환자 이미지를 보려면 시나리오를 여세요.'),
    err.el, form);
}

function renderNotFound(text) {
  document.title = '찾을 수 없음 · medicpx 환자 이미지';
  show(h('h1', {}, '페이지를 찾을 수 없습니다'), h('p', {class: 'error', role: 'alert'}, text),
    h('p', {}, h('a', {href: '/'}, '처음 화면으로')));
}

function start() {
  const had = token() !== null;
  const tok = validToken(); // null when there is none or it has expired
  const c = tok ? claims(tok) : null;
  let flash = takeFlash();
  if (had && !tok && !flash) flash = '로그인이 만료되었습니다. 다시 로그인해 주세요.';
  const role = roleOf(c);
  // One sign-in for every tab: another tab signing out signs this one out; another tab signing
  // in takes this one past its sign-in page. (The professor page handles a sign-in it is waiting
  // for itself, without leaving.)
  onTokenChange((t) => {
    if (!t && c) toSignIn('다른 탭에서 로그아웃했습니다.');
    else if (t && !c && location.pathname === '/') location.assign(safeNext());
  });
  header(c, role);
  const path = location.pathname;
  if (path === '/') {
    if (!c) renderSignIn(flash);
    else renderPicker(role);
    return;
  }
  const m = path.match(/^\/scenarios\/([^/]*)$/);
  if (!m) return renderNotFound('주소를 확인해 주세요.');
  const id = m[1];
  if (!SCENARIO_RE.test(id)) {
    return renderNotFound('잘못된 시나리오 ID입니다. 영문, 숫자, 밑줄(_), 하이픈(-)으로 된 1~64자여야 합니다.');
  }
  if (!c) {
    toSignIn(flash || '먼저 로그인해 주세요.');
    return;
  }
  if (isStaff(role)) renderProfessor(main, id);
  else renderStudent(main, id);
}

// Never a blank page: a failure nothing else caught is said on the page.
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason && e.reason.status === 401) return; // already on the way to sign-in
  const p = h('p', {class: 'error', role: 'alert'}, `문제가 발생했습니다: ${e.reason && e.reason.message ? e.reason.message : e.reason}`);
  main.prepend(p);
});

try {
  start();
} catch (e) {
  // Never a blank page: whatever went wrong is said.
  show(h('h1', {}, '문제가 발생했습니다'), h('p', {class: 'error', role: 'alert'}, `페이지를 표시하지 못했습니다: ${e.message}`),
    h('p', {}, h('a', {href: '/'}, '처음 화면으로')));
}
