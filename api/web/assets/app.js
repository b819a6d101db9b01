// Entry point: reads the address and the token, asks the API who the token names
// (/patient-images/me), then shows sign-in, the scenario picker, or a scenario (staff: manage;
// anyone else: view). The page reads nothing from the token itself: the staff/student choice and
// the rules (scenario ids, upload checks) are the API's answer.
import {h} from './dom.js';
import {token, setToken, takeFlash, signOut, toSignIn, onTokenChange, me, signInAgain} from './api.js';
import {signInForm} from './signin.js';
import {renderProfessor} from './professor.js';
import {renderStudent} from './student.js';
import {renderHome, remember} from './home.js';

// The platform's sign-in handoff: /#access_token=JWT (optionally &scenario=ID). The token leaves
// the address bar before anything else runs, so it never stays in the history (a fragment is never
// sent in a Referer either).
const handoff = takeHandoff();
function takeHandoff() {
  if (!location.hash.startsWith('#')) return null;
  const q = new URLSearchParams(location.hash.slice(1));
  const tok = q.get('access_token');
  if (!tok) return null;
  history.replaceState(history.state, '', location.pathname + location.search);
  return {token: tok, scenario: q.get('scenario') || ''};
}

const main = document.getElementById('main');

// What the header calls each of the API's decisions.
const ROLE_LABELS = {staff: '관리자·교수', reader: '학생'};

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function header(who) {
  const el = document.getElementById('who');
  const out = document.getElementById('sign-out');
  if (!who) {
    el.textContent = '';
    out.hidden = true;
    return;
  }
  el.textContent = `${ROLE_LABELS[who.role] || who.role}${who.subject ? ` · ${who.subject}` : ''}`;
  out.hidden = false;
  out.onclick = () => signOut('로그아웃했습니다.');
}

// safeNext keeps the return address on this site's scenario pages, with an id the API allows.
function safeNext(policy) {
  const next = new URLSearchParams(location.search).get('next') || '';
  const m = next.match(/^\/scenarios\/([^/]*)$/);
  return m && new RegExp(policy.scenario_id_pattern).test(m[1]) ? next : '/';
}

function renderSignIn(flash) {
  document.title = '로그인 · medicpx 환자 이미지';
  const form = signInForm((tok, who) => {
    setToken(tok);
    location.assign(safeNext(who.policy));
  });
  const parts = [h('h1', {}, '로그인')];
  if (flash) parts.push(h('p', {class: 'notice', role: 'status'}, flash));
  show(...parts, ...form.parts);
}

function renderNotFound(text) {
  document.title = '찾을 수 없음 · medicpx 환자 이미지';
  show(h('h1', {}, '페이지를 찾을 수 없습니다'), h('p', {class: 'error', role: 'alert'}, text),
    h('p', {}, h('a', {href: '/'}, '처음 화면으로')));
}

const BAD_ID = '잘못된 시나리오 ID입니다. 영문, 숫자, 밑줄(_), 하이픈(-)으로 된 1~64자여야 합니다.';

async function start() {
  if (handoff) {
    // The platform's token replaces whatever this browser held: it says who is signing in now.
    let who;
    try {
      who = await me(handoff.token);
    } catch (e) {
      if (e.status !== 401) throw e;
      header(null);
      return renderSignIn(`CPX 플랫폼에서 받은 로그인 정보를 쓸 수 없습니다: ${signInAgain(e.message)}`);
    }
    setToken(handoff.token);
    const sc = handoff.scenario;
    if (sc && new RegExp(who.policy.scenario_id_pattern).test(sc) && location.pathname !== `/scenarios/${sc}`) {
      location.replace(`/scenarios/${encodeURIComponent(sc)}`);
      return undefined;
    }
  }
  const tok = token();
  const flash = takeFlash();
  const path = location.pathname;
  const m = path.match(/^\/scenarios\/([^/]*)$/);
  if (path !== '/' && !m) return renderNotFound('주소를 확인해 주세요.');
  // The server already said the id is wrong (it answered the page with 404): no sign-in needed.
  if (m && document.body.dataset.notFound === 'true') return renderNotFound(BAD_ID);

  let who = null;
  if (tok) {
    try {
      who = await me(tok);
    } catch (e) {
      if (e.status !== 401) throw e;
      // Expired or refused: the API's reason, on the sign-in page.
      signOut(signInAgain(e.message));
      return undefined;
    }
  }
  // One sign-in for every tab: another tab signing out signs this one out; another tab signing
  // in takes this one past its sign-in page; a different token is asked about again, and a page
  // for the other view is reloaded. (The professor page handles a sign-in it is waiting for
  // itself, without leaving.)
  onTokenChange(async (t) => {
    if (!t) {
      if (who) toSignIn('다른 탭에서 로그아웃했습니다.');
      return;
    }
    let now;
    try {
      now = await me(t);
    } catch {
      return; // this tab's own requests will meet the refusal and say so
    }
    if (!who) {
      if (path === '/') location.assign(safeNext(now.policy));
      return;
    }
    if (now.can_upload !== who.can_upload) {
      location.reload();
      return;
    }
    who = now;
    header(who);
  });
  header(who);
  if (path === '/') {
    if (!who) renderSignIn(flash);
    else renderHome(main, who);
    return undefined;
  }
  const id = m[1];
  if (!who) {
    toSignIn(flash || '먼저 로그인해 주세요.');
    return undefined;
  }
  if (!new RegExp(who.policy.scenario_id_pattern).test(id)) return renderNotFound(BAD_ID);
  remember(id);
  if (who.can_upload) renderProfessor(main, id, who.policy);
  else renderStudent(main, id);
  return undefined;
}

// Never a blank page: a failure nothing else caught is said on the page.
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason && e.reason.status === 401) return; // already on the way to sign-in
  const p = h('p', {class: 'error', role: 'alert'}, `문제가 발생했습니다: ${e.reason && e.reason.message ? e.reason.message : e.reason}`);
  main.prepend(p);
});

start().catch((e) => {
  // Never a blank page: whatever went wrong is said.
  show(h('h1', {}, '문제가 발생했습니다'), h('p', {class: 'error', role: 'alert'}, `페이지를 표시하지 못했습니다: ${e.message}`),
    h('p', {}, h('a', {href: location.pathname + location.search}, '다시 시도'), ' · ', h('a', {href: '/'}, '처음 화면으로')));
});
