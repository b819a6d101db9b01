// The seed's frontend example (patient-image-upload-guide.md), its axios functions copied unchanged,
// driven against the running local stack. Only the base URL and the tokens are set from outside.
// Exits non-zero, with the reason, at the first step that does not behave as the guide says.
const axios = require('axios');
const assert = require('node:assert/strict');

axios.defaults.baseURL = process.env.BASE_URL;
const professorToken = process.env.PROFESSOR_TOKEN;
const studentToken = process.env.STUDENT_TOKEN;
let accessToken = professorToken;

// ---- copied from the guide, unchanged ----
// 1. 시나리오별 환자 이미지 목록 조회
const getScenarioImages = async (scenarioId) => {
  const response = await axios.get(
    `/patient-images/scenarios/${scenarioId}/images`,
    {
      headers: {
        Authorization: `Bearer ${accessToken}`
      }
    }
  );
  return response.data;
};

// 2. 시나리오 대표 환자 이미지 조회
const getScenarioImage = async (scenarioId) => {
  const response = await axios.get(
    `/patient-images/scenarios/${scenarioId}/image`,
    {
      headers: {
        Authorization: `Bearer ${accessToken}`
      }
    }
  );
  return response.data;
};

// 3. 업로드 URL 생성
const generateUploadUrl = async (scenarioId, file) => {
  const response = await axios.post(
    `/patient-images/upload-url/${scenarioId}`,
    {
      filename: file.name,
      content_type: file.type,
      content_length: file.size,
      method: "PUT"
    },
    {
      headers: {
        Authorization: `Bearer ${accessToken}`
      }
    }
  );
  return response.data;
};

// 4. S3 업로드
const uploadToS3 = async (uploadUrl, file) => {
  const response = await axios.put(uploadUrl, file, {
    headers: {
      'Content-Type': file.type,
      'Content-Length': file.size
    }
  });
  return response.headers.etag;
};

// 5. 환자 이미지 업로드 전체 플로우
const uploadPatientImage = async (scenarioId, file) => {
  try {
    // 1단계: 업로드 URL 생성
    const uploadData = await generateUploadUrl(scenarioId, file);
    
    // 2단계: S3 업로드
    await uploadToS3(uploadData.upload_url, file);
    
    // 3단계: S3 URL 반환 (DB 저장 없음)
    console.log('환자 이미지 업로드 완료:', uploadData.s3_url);
    return uploadData.s3_url;
    
  } catch (error) {
    console.error('환자 이미지 업로드 실패:', error);
    throw error;
  }
};

// 6. 다운로드 URL 생성
const generateDownloadUrl = async (scenarioId, s3Key) => {
  const response = await axios.post(
    `/patient-images/download-url/${scenarioId}`,
    {
      s3_key: s3Key,
      expires_in: 3600
    },
    {
      headers: {
        Authorization: `Bearer ${accessToken}`
      }
    }
  );
  return response.data;
};

// 7. 이미지 삭제
const deletePatientImage = async (scenarioId, s3Key) => {
  const response = await axios.delete(
    `/patient-images/${scenarioId}?s3_key=${s3Key}`,
    {
      headers: {
        Authorization: `Bearer ${accessToken}`
      }
    }
  );
  return response.data;
};
// ---- end of the guide's code ----

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const scenarioId = process.env.SCENARIO_ID || '1';
  // A browser File has name, type and size; a Buffer with those fields is what axios sends in Node.
  const bytes = require('node:fs').readFileSync(process.env.IMAGE_PATH);
  const file = Object.assign(Buffer.from(bytes), { name: 'patient_photo.jpg', type: 'image/jpeg', size: bytes.length });

  // Professor uploads.
  accessToken = professorToken;
  const s3Url = await uploadPatientImage(scenarioId, file);
  assert.match(s3Url, new RegExp(`patient_images/scenario_${scenarioId}/[0-9a-f-]{36}\\.jpg$`));
  const s3Key = s3Url.slice(s3Url.indexOf('patient_images/'));

  // Student lists: the image appears once the processor has validated it.
  accessToken = studentToken;
  let list;
  for (let i = 0; i < 300; i++) {
    list = await getScenarioImages(scenarioId);
    if (list.total_count > 0) break;
    await sleep(100);
  }
  assert.equal(list.total_count, 1, 'student never saw the upload become ready');
  assert.equal(list.images[0].s3_key, s3Key);
  assert.equal(list.images[0].status, 'ready');
  assert.equal(list.message, `시나리오 ${scenarioId}의 환자 이미지 1개를 조회했습니다.`);

  // Representative, as the guide's displayPatientImage reads it.
  const result = await getScenarioImage(scenarioId);
  assert.ok(result.image, 'no representative image');
  assert.equal(result.image.s3_key, s3Key);
  assert.equal(result.message, '대표 환자 이미지를 조회했습니다.');

  // Download URL works and serves an image that is no larger than what was uploaded (metadata stripped).
  const dl = await generateDownloadUrl(scenarioId, s3Key);
  assert.equal(dl.expires_in, 3600);
  const got = await axios.get(dl.download_url, { responseType: 'arraybuffer' });
  assert.equal(got.status, 200);
  assert.ok(got.data.byteLength > 0 && got.data.byteLength <= bytes.length);
  assert.equal(got.headers['content-type'], 'image/jpeg', 'download URL does not pin the validated type');

  // A student may not delete; the professor may.
  await assert.rejects(deletePatientImage(scenarioId, s3Key), (e) => e.response.status === 403);
  accessToken = professorToken;
  const del = await deletePatientImage(scenarioId, s3Key);
  assert.equal(del.message, '환자 이미지가 성공적으로 삭제되었습니다.');

  accessToken = studentToken;
  const after = await getScenarioImage(scenarioId);
  assert.equal(after.image, null);
  assert.equal((await getScenarioImages(scenarioId)).total_count, 0);
  console.log('seed frontend flow: ok');
})().catch((e) => {
  console.error(e && e.response ? `${e.config.method} ${e.config.url} → ${e.response.status} ${JSON.stringify(e.response.data)}` : e);
  process.exit(1);
});
