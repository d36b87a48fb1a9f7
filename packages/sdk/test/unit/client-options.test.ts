import { describe, expect, it } from 'vitest';
import { Relevo } from '../../src/index.js';

/** A fetch that records the URL it was asked for and answers an empty envelope. */
function recordingFetch(urls: string[]): typeof fetch {
  return async (input) => {
    urls.push(String(input));
    return new Response('{"data":{}}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

describe('Relevo options', () => {
  it('sends every call under basePath, /jelouapi/v1 unless set', async () => {
    const urls: string[] = [];
    const common = {
      baseUrl: 'http://127.0.0.1:9/',
      projectId: 'prj_1',
      apiKey: 'k',
      fetch: recordingFetch(urls),
    };
    await new Relevo(common).overview.get();
    await new Relevo({ ...common, basePath: '/v1' }).overview.get();
    await new Relevo({ ...common, basePath: '/platform/v1' }).conversations.get('conv_a/b');
    expect(urls).toEqual([
      'http://127.0.0.1:9/jelouapi/v1/external-support/prj_1/overview',
      'http://127.0.0.1:9/v1/external-support/prj_1/overview',
      'http://127.0.0.1:9/platform/v1/external-support/prj_1/conversations/conv_a%2Fb',
    ]);
  });

  it('refuses a basePath relevo does not serve, and missing credentials, at construction', () => {
    const base = { baseUrl: 'http://127.0.0.1:9', projectId: 'prj_1', apiKey: 'k' };
    expect(() => new Relevo({ ...base, basePath: '/v2' as '/v1' })).toThrow(
      'basePath must be one of /jelouapi/v1, /platform/v1, /v1',
    );
    expect(() => new Relevo({ baseUrl: base.baseUrl, projectId: 'prj_1' } as never)).toThrow(TypeError);
    expect(() => new Relevo({ ...base, projectId: '' })).toThrow('projectId is required');
  });
});
