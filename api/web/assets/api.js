// The API client: the token in sessionStorage, JSON requests, and the one place that turns an
// expired or refused token into a trip back to sign-in.

const TOKEN_KEY = 'medicpx.token';
const FLASH_KEY = 'medicpx.flash';

export const ROLE_NAMES = {admin: '관리자', professor: '교수', student: '학생'};

export function token() { return sessionStorage.getItem(TOKEN_KEY); }

export function setToken(t) { sessionStorage.setItem(TOKEN_KEY, t); }

// takeFlash returns (once) the message left for the sign-in page.
export function takeFlash() {
  const m = sessionStorage.getItem(FLASH_KEY);
  sessionStorage.removeItem(FLASH_KEY);
  return m;
}

// signOut forgets the token and returns to sign-in, with a message and the page to come back to.
export function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (message) sessionStorage.setItem(FLASH_KEY, message);
  const next = location.pathname.startsWith('/scenarios/') ? `?next=${encodeURIComponent(location.pathname)}` : '';
  location.assign(`/${next}`);
}

// claims reads a JWT's payload. It only chooses which view to show: the API checks the signature
// and the role on every call.
export function claims(tok) {
  const parts = (tok || '').split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const json = new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
    const c = JSON.parse(json);
    return c && typeof c === 'object' ? c : null;
  } catch {
    return null;
  }
}

// roleOf mirrors the API: a "role" string, or a "roles" array where staff roles win.
export function roleOf(c) {
  if (!c) return '';
  if (typeof c.role === 'string') return c.role;
  if (Array.isArray(c.roles)) {
    for (const r of ['admin', 'professor']) if (c.roles.includes(r)) return r;
    return c.roles.find((r) => typeof r === 'string') || '';
  }
  return '';
}

export function isStaff(role) { return role === 'admin' || role === 'professor'; }

export function expired(c) { return !c || typeof c.exp !== 'number' || c.exp * 1000 <= Date.now(); }

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// request calls the API and returns its JSON. Failures throw ApiError carrying the API's own
// "detail", which is written for the person reading it.
export async function request(method, path, body) {
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
    signOut(`${detail || '로그인이 필요합니다.'} 다시 로그인해 주세요.`);
    throw new ApiError(401, detail);
  }
  if (!resp.ok) throw new ApiError(resp.status, detail || `요청을 처리하지 못했습니다 (HTTP ${resp.status}).`);
  return data;
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
