// The API client: the token in localStorage (one sign-in for every tab of this browser, until the
// token expires), JSON requests, and the one place that handles an expired or refused token.

const TOKEN_KEY = 'medicpx.token';
const FLASH_KEY = 'medicpx.flash';

// token is the stored token as it is: the API, not the page, says whether it is valid, expired
// or staff (me). The page never reads the token's claims.
export function token() { return localStorage.getItem(TOKEN_KEY); }

export function setToken(t) { localStorage.setItem(TOKEN_KEY, t); }

// takeFlash returns (once) the message left for the sign-in page.
export function takeFlash() {
  const m = sessionStorage.getItem(FLASH_KEY);
  sessionStorage.removeItem(FLASH_KEY);
  return m;
}

// toSignIn goes to the sign-in page with a message and the page to come back to. Once: requests
// refused together must not navigate twice (the second load would find the message taken).
let leaving = false;
export function toSignIn(message) {
  if (leaving) return;
  leaving = true;
  if (message) sessionStorage.setItem(FLASH_KEY, message);
  const next = location.pathname.startsWith('/scenarios/') ? `?next=${encodeURIComponent(location.pathname)}` : '';
  location.assign(`/${next}`);
}

// signOut forgets the token in every tab (the others hear it through the storage event).
export function signOut(message) {
  localStorage.removeItem(TOKEN_KEY);
  toSignIn(message);
}

// onTokenChange calls fn(newToken or null) when another tab signs in or out.
export function onTokenChange(fn) {
  window.addEventListener('storage', (e) => {
    if (e.key === TOKEN_KEY || e.key === null) fn(e.key === null ? null : e.newValue);
  });
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// A page with work in progress (the professor's uploads) registers a re-authentication: a refused
// token then waits for a new sign-in on the page instead of leaving it, and the request is sent
// again. Without one, a refused token goes to the sign-in page.
let reauth = null;
export function setReauth(fn) { reauth = fn; }

// request calls the API and returns its JSON. Failures throw ApiError carrying the API's own
// "detail", which is written for the person reading it.
export async function request(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const headers = {Authorization: `Bearer ${token() || ''}`, Accept: 'application/json'};
    const init = {method, headers, cache: 'no-store'};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch {
      throw new ApiError(0, '서버에 연결할 수 없습니다. 네트워크 연결을 확인한 뒤 다시 시도해 주세요.');
    }
    let data = null;
    try { data = await resp.json(); } catch { /* not JSON: fall back to a generic message below */ }
    const detail = data && typeof data.detail === 'string' ? data.detail : '';
    if (resp.status === 401) {
      if (reauth && attempt < 3) {
        await reauth(detail || '로그인이 필요합니다.');
        continue;
      }
      signOut(signInAgain(detail));
      throw new ApiError(401, detail);
    }
    if (!resp.ok) throw new ApiError(resp.status, detail || `요청을 처리하지 못했습니다 (HTTP ${resp.status}).`);
    return data;
  }
}

// me asks the API who tok names and what it may do: {subject, role: 'staff'|'reader',
// can_upload, policy}. It is the page's only source for the staff/student decision and for the
// upload rules (types, size, HEIC, scenario ids, name and caption lengths). Unlike request, a
// refused token is the caller's to handle (ApiError 401 with the API's reason): the sign-in form
// asks it about a token before keeping it.
export async function me(tok) {
  let resp;
  try {
    resp = await fetch('/patient-images/me', {headers: {Authorization: `Bearer ${tok || ''}`, Accept: 'application/json'}, cache: 'no-store'});
  } catch {
    throw new ApiError(0, '서버에 연결할 수 없습니다. 네트워크 연결을 확인한 뒤 다시 시도해 주세요.');
  }
  let data = null;
  try { data = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok || !data || !data.policy) {
    const detail = data && typeof data.detail === 'string' ? data.detail : '';
    throw new ApiError(resp.status, detail || `요청을 처리하지 못했습니다 (HTTP ${resp.status}).`);
  }
  return data;
}

// signInAgain is what the page says about a token the API refused: the API's reason, and what to do.
export function signInAgain(detail) {
  if (!detail) return '로그인이 필요합니다. 다시 로그인해 주세요.';
  return /로그인/.test(detail) ? detail : `${detail} 다시 로그인해 주세요.`;
}

export const scenarioPath = (id) => `/patient-images/scenarios/${encodeURIComponent(id)}`;

// listImages returns a scenario's whole listing: the API pages it (next_cursor), so follow the
// cursor until the last page. limit is for tests; the default page holds any real scenario.
export async function listImages(id, limit) {
  const images = [];
  let cursor = '';
  for (let pages = 0; pages < 1000; pages++) {
    const q = new URLSearchParams();
    if (limit) q.set('limit', String(limit));
    if (cursor) q.set('cursor', cursor);
    const qs = q.toString();
    const page = await request('GET', `${scenarioPath(id)}/images${qs ? `?${qs}` : ''}`);
    images.push(...(page.images || []));
    if (!page.next_cursor) return {...page, images, next_cursor: undefined};
    cursor = page.next_cursor;
  }
  throw new ApiError(0, '이미지 목록이 너무 깁니다. 잠시 후 다시 시도해 주세요.');
}
