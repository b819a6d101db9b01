// The sign-in form: paste a token, or (local stack only) sign in with one click. Used by the
// sign-in page and by the professor page's in-place sign-in when a token expires mid-batch.
import {h, errorBox} from './dom.js';
import {me, signInAgain} from './api.js';

// signInForm returns the form's nodes; accept(token, who) is called with a token the API took,
// and what /patient-images/me said about it. The page does not read the token: whether it is
// valid, expired or staff is the API's answer.
export function signInForm(accept, prefix = '') {
  const err = errorBox();
  const area = h('textarea', {id: `${prefix}token-input`, name: 'token', rows: 4, required: true, autocomplete: 'off',
    spellcheck: 'false', 'aria-describedby': `${prefix}token-help`});
  let asking = false;
  const take = async (tok) => {
    // The one check made here is the shape, for a clearer message than the API's on a stray paste.
    if (tok.split('.').length !== 3) return err.show('토큰 형식이 올바르지 않습니다. 점(.)으로 나뉜 세 부분으로 된 JWT를 붙여 넣어 주세요.');
    if (asking) return undefined;
    asking = true;
    try {
      const who = await me(tok);
      err.clear();
      return accept(tok, who);
    } catch (e) {
      return err.show(e.status === 401 ? signInAgain(e.message) : e.message);
    } finally {
      asking = false;
    }
  };
  const form = h('form', {class: 'card', onsubmit: (e) => { e.preventDefault(); err.clear(); take(area.value.trim()); }},
    h('label', {for: `${prefix}token-input`}, '접속 토큰'),
    h('p', {id: `${prefix}token-help`, class: 'hint'},
      'CPX 플랫폼에서 받은 접속 토큰(JWT)을 붙여 넣으세요. 토큰은 만료될 때까지 이 브라우저의 모든 탭에서 쓰이며, 로그아웃하면 모든 탭에서 지워집니다.'),
    area,
    h('button', {type: 'submit', class: 'primary'}, '로그인'));
  const parts = [err.el, form];
  if (document.body.dataset.devlogin === 'true') {
    const dev = async (role) => {
      err.clear();
      try {
        const resp = await fetch('/dev/token', {method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({role})});
        const data = await resp.json().catch(() => ({}));
        if (!resp.ok || !data.token) throw new Error(data.detail || `HTTP ${resp.status}`);
        take(data.token);
      } catch (e) {
        err.show(`개발용 로그인에 실패했습니다: ${e.message}`);
      }
    };
    parts.push(h('section', {class: 'card dev', 'aria-labelledby': `${prefix}dev-title`},
      h('h2', {id: `${prefix}dev-title`}, '로컬 개발용 로그인'),
      h('p', {class: 'hint'}, '로컬 스택에서만 보입니다. 운영 서버에는 이 기능이 없습니다.'),
      h('div', {class: 'row'},
        h('button', {type: 'button', id: `${prefix}dev-professor`, onclick: () => dev('professor')}, '교수로 로그인'),
        h('button', {type: 'button', id: `${prefix}dev-student`, onclick: () => dev('student')}, '학생으로 로그인'))));
  }
  return {parts, area};
}
