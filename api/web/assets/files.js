// The browser-side check of a picked file, before anything is sent. It mirrors the API's rules
// (shared/imagepolicy) so most mistakes are explained at once; the API and the processor still
// decide, the processor by the file's content.

export const MAX_BYTES = 10485760; // 10 MiB

const TYPE_BY_EXT = {jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp'};

export const ACCEPT = 'image/jpeg,image/png,image/gif,image/webp,.jpg,.jpeg,.png,.gif,.webp';

// checkFile returns {type} for an acceptable file, or {error} with a message in Korean.
export function checkFile(file) {
  const dot = file.name.lastIndexOf('.');
  const ext = dot > 0 ? file.name.slice(dot + 1).toLowerCase() : '';
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
    return {error: `파일이 너무 큽니다 (${(file.size / 1048576).toFixed(1)}MB). 파일당 최대 10MB까지 올릴 수 있습니다.`};
  }
  return {type};
}
