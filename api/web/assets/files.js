// The browser-side check of a picked file, before anything is sent, by the API's own rules: the
// policy /patient-images/me returns (shared/imagepolicy's types and size, the HEIC message, name
// length), so the page holds no copy of them. Most mistakes are thus explained at once; the API
// and the processor still decide, the processor by the file's content.

// Photos of these types over the size limit are shrunk in the browser (shrink.js); a GIF is not,
// since re-encoding would lose its animation. This is what the browser can re-encode, not an
// upload rule: a type the API stops allowing is refused before this is asked.
const SHRINKABLE = new Set(['image/jpeg', 'image/png', 'image/webp']);

const MB = 1048576;
const mb = (n) => `${Math.round((n / MB) * 10) / 10}MB`;

// fileRules turns the API's policy into what the upload page needs: the picker's accept list,
// the hint under it, the size limit (for shrink.js) and check(file).
export function fileRules(policy) {
  const types = policy.types || [];
  const byExt = new Map();
  for (const t of types) for (const e of t.exts) byExt.set(e.toLowerCase(), t.mime);
  // Other names of a type (image/heif for a .heic), and what desktop Chrome and Firefox say of a
  // HEIC they do not know; the extension then decides, as the API does.
  const aliasOf = new Map();
  for (const t of types) for (const a of t.aliases || []) aliasOf.set(a.toLowerCase(), t.mime);
  const untyped = new Set(['', 'application/octet-stream']);
  const heicExts = new Set((policy.heic_exts || []).map((e) => e.toLowerCase()));
  const heicTypes = new Set((policy.heic_types || []).map((t) => t.toLowerCase()));
  const names = types.map((t) => t.mime.replace(/^image\//, '').toUpperCase()).join(', ');
  const extList = [...byExt.keys()].map((e) => `.${e}`).join(', ');
  const maxBytes = policy.max_bytes;
  const baseType = (type) => (type || '').split(';')[0].trim().toLowerCase();
  const utf8Bytes = (s) => new TextEncoder().encode(s).length;

  return {
    maxBytes,
    accept: [...types.map((t) => t.mime), ...[...byExt.keys()].map((e) => `.${e}`)].join(','),
    hint: `${names} · 파일당 최대 ${mb(maxBytes)}(넘는 사진은 여기서 줄여서 올립니다). 올린 뒤 서버가 내용을 확인합니다.`,
    maxLabel: mb(maxBytes),
    // check returns {type} for an acceptable file ({type, shrink: true} for a photo to shrink
    // first), or {error} with a message in Korean.
    check(file) {
      const dot = file.name.lastIndexOf('.');
      const ext = dot > 0 ? file.name.slice(dot + 1).toLowerCase() : '';
      const want = byExt.get(ext);
      // Only a HEIC the policy does not accept (none, now that it is converted) gets the message
      // about camera settings.
      if (!want && (heicExts.has(ext) || heicTypes.has(baseType(file.type)))) return {error: policy.heic_message};
      if (!want) {
        return {error: `지원하지 않는 파일 형식입니다. ${names} 이미지(${extList})만 올릴 수 있습니다.`};
      }
      // Some systems give no type; the extension then decides, and the processor checks the content.
      let type = baseType(file.type) || want;
      if (aliasOf.get(type) === want || (untyped.has(type) && want !== byExt.get('jpg'))) type = want;
      if (type !== want) {
        return {error: `파일 확장자(.${ext})와 파일 형식(${type})이 맞지 않습니다. 실제 형식에 맞는 확장자로 바꿔 주세요.`};
      }
      if (utf8Bytes(file.name.normalize('NFC')) > policy.max_filename_bytes) {
        return {error: `파일 이름이 너무 깁니다. 이름을 줄여서(최대 ${policy.max_filename_bytes}바이트, 한글은 한 글자에 3바이트) 다시 골라 주세요.`};
      }
      if (file.size === 0) return {error: '빈 파일입니다. 내용이 있는 이미지 파일을 골라 주세요.'};
      if (file.size > maxBytes) {
        if (SHRINKABLE.has(type)) return {type, shrink: true};
        return {error: `파일이 너무 큽니다 (${(file.size / MB).toFixed(1)}MB). 파일당 최대 ${mb(maxBytes)}까지 올릴 수 있습니다.`};
      }
      return {type};
    },
  };
}
