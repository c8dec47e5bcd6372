import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  AnnotationError,
  loadClassificationAnno,
  loadInstructionAnno,
  loadMultipleChoiceAnno,
  loadPretrainAnno,
  loadRetrievalAnno,
  loadStage1List,
} from '../src/index.js';
import { tempDir } from './fixtures.js';

const dir = tempDir('anno');
function write(name: string, data: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data));
  return p;
}

async function expectAnnoError(p: Promise<unknown>, file: string, index: number | null, field: string | null) {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AnnotationError);
  const a = e as AnnotationError;
  expect([a.file, a.index, a.field]).toEqual([file, index, field]);
  expect(a.message).toContain(file);
}

describe('retrieval JSON (VINDLU layout)', () => {
  const f = write('msrvtt_test.json', [
    { video: 'video7020.mp4', caption: 'A woman creating a fake finger-nail.' },
    { video: 'video7021.mp4', caption: ['Two men talk.', 'People <person> chat on a couch!'] },
  ]);
  test('multi-caption videos expand to one text each, texts go through pre_text', async () => {
    const r = await loadRetrievalAnno(f, { dataRoot: '/data/msrvtt', dataRootPrefix: 's3:' });
    expect(r.media).toEqual(['s3:/data/msrvtt/video7020.mp4', 's3:/data/msrvtt/video7021.mp4']);
    expect(r.texts).toEqual(['a woman creating a fake finger nail', 'two men talk', 'people person chat on a couch']);
    expect(r.txt2img).toEqual([0, 1, 1]);
    expect(r.img2txt).toEqual([[0], [1, 2]]);
  });
  test('paragraph retrieval joins the captions', async () => {
    const r = await loadRetrievalAnno(f, { dataRoot: 'd', isParagraphRetrieval: true });
    expect(r.texts[1]).toBe('two men talk people person chat on a couch');
  });
  test('errors name the file, the entry and the field', async () => {
    const bad = write('bad_ret.json', [{ video: 'a.mp4', caption: 'ok caption' }, { video: 'b.mp4', caption: 7 }]);
    await expectAnnoError(loadRetrievalAnno(bad, { dataRoot: '' }), bad, 1, 'caption');
    const noVideo = write('bad_ret2.json', [{ caption: 'x y' }]);
    await expectAnnoError(loadRetrievalAnno(noVideo, { dataRoot: '' }), noVideo, 0, 'video');
    const notList = write('bad_ret3.json', { video: 'a' });
    await expectAnnoError(loadRetrievalAnno(notList, { dataRoot: '' }), notList, null, null);
    const notJson = write('bad_ret4.json', '[{"video": ');
    await expectAnnoError(loadRetrievalAnno(notJson, { dataRoot: '' }), notJson, null, null);
    await expectAnnoError(loadRetrievalAnno(join(dir, 'nope.json'), { dataRoot: '' }), join(dir, 'nope.json'), null, null);
  });
});

describe('stage-2 pre-training JSON', () => {
  test('image, video, audio and InternVid2 audio-video entries', async () => {
    const img = write('img.json', [{ image: 'coco/1.jpg', caption: 'a cat' }]);
    expect((await loadPretrainAnno({ annoPath: img, dataRoot: 'r', mediaType: 'image' }))[0]).toMatchObject({ media: 'r/coco/1.jpg', caption: 'a cat' });
    const vid = write('vid.json', [{ video: 'v.mp4', caption: ['a', 'b'], video_start_frame: 3, video_end_frame: 40 }]);
    expect((await loadPretrainAnno({ annoPath: vid, dataRoot: 'r', mediaType: 'video' }))[0]).toMatchObject({ startFrame: 3, endFrame: 40 });
    const aud = write('aud.json', [{ audio: 'a.flac', caption: 'rain' }]);
    expect((await loadPretrainAnno({ annoPath: aud, dataRoot: 'r', mediaType: 'audio' }))[0].media).toBe('r/a.flac');
    const av = write('av.json', [
      {
        video: 'clip.mp4', video_start_frame: 0, video_end_frame: 90, video_fps: 30, video_name: 'clip',
        avs_captions: 'A man speaks while music plays.', av_captions: 'music', selected_video_caption: 'a man',
        selected_audio_caption: 'music', asr_captions: 'hello',
      },
    ]);
    const s = (await loadPretrainAnno({ annoPath: av, dataRoot: 'r', mediaType: 'audio_video' }))[0];
    expect(Object.keys(s.caption as object).sort()).toEqual(['asr_captions', 'av_captions', 'avs_captions', 'selected_audio_caption', 'selected_video_caption']);
    const badAv = write('bad_av.json', [{ video: 'clip.mp4', avs_captions: 3 }]);
    await expectAnnoError(loadPretrainAnno({ annoPath: badAv, dataRoot: 'r', mediaType: 'audio_video' }), badAv, 0, 'avs_captions');
    const badRange = write('bad_range.json', [{ video: 'v.mp4', caption: 'x', video_start_frame: 9, video_end_frame: 3 }]);
    await expectAnnoError(loadPretrainAnno({ annoPath: badRange, dataRoot: 'r', mediaType: 'video' }), badRange, 0, 'video_end_frame');
  });
});

describe('classification, multiple choice, stage 1 and stage 3', () => {
  test('classification: class names become labels', async () => {
    const f = write('k400.json', [
      { video: 'a.mp4', caption: 'abseiling' },
      { video: 'b.mp4', caption: 'air drumming' },
      { video: 'c.mp4', caption: 'abseiling' },
    ]);
    const r = await loadClassificationAnno(f, { dataRoot: 'k' });
    expect(r.classes).toEqual(['abseiling', 'air drumming']);
    expect(r.labels).toEqual([0, 1, 0]);
  });
  test('multiple choice with caption or option lists', async () => {
    const a = write('mc.json', [{ video: 'a.mp4', caption: ['x', 'y', 'z', 'u', 'v'], answer: 2 }]);
    expect((await loadMultipleChoiceAnno(a, { dataRoot: '' }))[0]).toMatchObject({ options: ['x', 'y', 'z', 'u', 'v'], answer: 2 });
    const b = write('mc2.json', [{ video: 'a.webm', option: ['p', 'q'], answer: [0, 1] }]);
    expect((await loadMultipleChoiceAnno(b, { dataRoot: '' }))[0].answer).toEqual([0, 1]);
  });
  test('stage-1 list lines, ssv2 switches flipping off, bad numbers named', async () => {
    const f = write('k710.txt', 'k400 videos/a.mp4 10.0 -1 -1 0\nssv2 videos/b.webm 3.5 0.5 2.5 12\n\n');
    const r = await loadStage1List(f, { prefix: '/data' });
    expect(r[0]).toMatchObject({ source: 'k400', path: '/data/videos/a.mp4', startTime: -1, flip: true });
    expect(r[1]).toMatchObject({ source: 'ssv2', startTime: 0.5, endTime: 2.5, flip: false, line: 1 });
    const bad = write('bad.txt', 'k400 a.mp4 10 -1 -1 0\nk400 b.mp4 ten -1 -1 0\n');
    await expectAnnoError(loadStage1List(bad), bad, 1, 'total_time');
    const short = write('short.txt', 'k400 a.mp4\n');
    await expectAnnoError(loadStage1List(short), short, 0, 'total_time');
  });
  test('stage-3 instruction JSON', async () => {
    const f = write('vc2.json', [
      { video: 'v.mp4', QA: [{ i: 'Describe.', q: '', a: 'A dog runs.' }], start: 1.5, end: 4 },
      { image: 'i.jpg', QA: [{ q: 'What colour?', a: 'Red.' }] },
    ]);
    const r = await loadInstructionAnno(f, { dataRoot: 'm' });
    expect(r.map((x) => x.mediaType)).toEqual(['video', 'image']);
    const bad = write('bad_vc2.json', [{ video: 'v.mp4', QA: [{ q: 'x' }] }]);
    await expectAnnoError(loadInstructionAnno(bad, { dataRoot: '' }), bad, 0, 'QA.0.a');
    const both = write('both.json', [{ video: 'v.mp4', image: 'i.jpg', QA: [{ q: 'x', a: 'y' }] }]);
    await expectAnnoError(loadInstructionAnno(both, { dataRoot: '' }), both, 0, 'video');
  });
});
