// Photos over the API's size limit (policy.max_bytes from /patient-images/me, 10 MiB) are made
// to fit here, in the browser, rather than refused: phones take 12-50 MP photos that often pass
// 10 MB. The browser decodes the photo upright (EXIF orientation applied) and re-encodes it as a
// high-quality JPEG, reducing the longest edge only as far as needed. The server's limit and
// checks stay as they are; the new file carries no EXIF.

const QUALITY = 0.92;
const TRIES = 8;

// shrinkPhoto resolves to a JPEG File of at most maxBytes, named like the original with .jpg.
export async function shrinkPhoto(file, maxBytes) {
  let bmp;
  try {
    bmp = await createImageBitmap(file, {imageOrientation: 'from-image'});
  } catch {
    throw new Error('사진을 열 수 없어 크기를 줄이지 못했습니다. 사진 앱에서 JPEG로 다시 저장하거나 화면을 캡처해서 올려 주세요.');
  }
  try {
    const blob = await encodeToFit(bmp, maxBytes);
    return new File([blob], jpgName(file.name), {type: 'image/jpeg', lastModified: file.lastModified});
  } finally {
    bmp.close();
  }
}

// encodeToFit encodes an upright image (an ImageBitmap or a canvas) as a JPEG Blob of at most
// maxBytes: full size if it fits, else the longest edge reduced only as far as needed.
export async function encodeToFit(source, maxBytes) {
  let scale = 1;
  for (let i = 0; i < TRIES; i++) {
    const w = Math.max(1, Math.round(source.width * scale));
    const h = Math.max(1, Math.round(source.height * scale));
    const blob = await encodeJPEG(source, w, h);
    if (blob.size <= maxBytes) return blob;
    // JPEG bytes grow about with the pixel count: aim a little under the limit.
    scale *= Math.min(0.95, Math.sqrt(maxBytes / blob.size) * 0.97);
  }
  throw new Error(`사진 크기를 ${Math.round((maxBytes / 1048576) * 10) / 10}MB 이하로 줄이지 못했습니다. 사진 앱에서 크기를 줄여 저장한 뒤 올려 주세요.`);
}

function encodeJPEG(bmp, w, h) {
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; // a transparent PNG becomes white, not black, as a JPEG
  ctx.fillRect(0, 0, w, h);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bmp, 0, 0, w, h);
  return new Promise((resolve, reject) => canvas.toBlob(
    (b) => (b ? resolve(b) : reject(new Error('사진을 JPEG로 바꾸지 못했습니다.'))), 'image/jpeg', QUALITY));
}

export function jpgName(name) {
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(0, dot) : name) + '.jpg';
}

// shrinkNote is what the page says about a shrunk photo: "12.9MB → 4.1MB로 줄여서 올렸습니다."
export function shrinkNote(before, after) {
  const mb = (n) => (n / 1048576).toFixed(1);
  return `${mb(before)}MB → ${mb(after)}MB로 줄여서 올렸습니다.`;
}
