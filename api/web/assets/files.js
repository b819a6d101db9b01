// The browser-side check of a picked file, before anything is sent. It mirrors the API's rules
// (shared/imagepolicy) so most mistakes are explained at once; the API and the processor still
// decide, the processor by the file's content.

export const MAX_BYTES = 10485760; // 10 MiB

const TYPE_BY_EXT = {jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp'};

// Photos of these types over MAX_BYTES are shrunk in the browser (shrink.js); a GIF is not, since
// re-encoding would lose its animation.
const SHRINKABLE = new Set(['image/jpeg', 'image/png', 'image/webp']);

// HEIC is what iPhones save by default; the API gives the same message.
export const HEIC_MESSAGE = "HEIC(HEIF) 사진은 올릴 수 없습니다. JPEG로 바꿔서 올려 주세요. iPhone이라면 설정 > 카메라 > 포맷에서 '높은 호환성'을 고르면 앞으로 JPEG로 찍히고, 이미 찍은 사진은 JPEG로 공유하거나 화면을 캡처해서 올리면 됩니다.";

export const ACCEPT = 'image/jpeg,image/png,image/gif,image/webp,.jpg,.jpeg,.png,.gif,.webp';

// checkFile returns {type} for an acceptable file ({type, shrink: true} for a photo to shrink
// first), or {error} with a message in Korean.
export function checkFile(file) {
  const dot = file.name.lastIndexOf('.');
  const ext = dot > 0 ? file.name.slice(dot + 1).toLowerCase() : '';
  if (['heic', 'heif', 'hif'].includes(ext) || /^image\/hei[cf]/i.test(file.type)) return {error: HEIC_MESSAGE};
  const byExt = TYPE_BY_EXT[ext];
  if (!byExt) {
    return {error: '지원하지 않는 파일 형식입니다. JPEG(.jpg, .jpeg), PNG, GIF, WebP 이미지만 올릴 수 있습니다.'};
  }
  // Some systems give no type; the extension then decides, and the processor checks the content.
  const type = file.type || byExt;
  if (type !== byExt) {
    return {error: `파일 확장자(.${ext})와 파일 형식(${type})이 맞지 않습니다. 실제 형식에 맞는 확장자로 바꿔 주세요.`};
  }
  if (file.size === 0) return {error: '빈 파일입니다. 내용이 있는 이미지 파일을 골라 주세요.'};
  if (file.size > MAX_BYTES) {
    if (SHRINKABLE.has(type)) return {type, shrink: true};
    return {error: `파일이 너무 큽니다 (${(file.size / 1048576).toFixed(1)}MB). 파일당 최대 10MB까지 올릴 수 있습니다.`};
  }
  return {type};
}
