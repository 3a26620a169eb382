import { isSecretName, maskHeaders, maskUrl } from '../src';

describe('maskUrl with query parameter names that are not valid percent-encoding', () => {
  it.each([
    ['/cb?tok%65n%=s1', '/cb?tok%65n%=[REDACTED]'],
    ['/cb?%70assword%ZZ=s2&a=1', '/cb?%70assword%ZZ=[REDACTED]&a=1'],
    ['/cb?api%5Fkey%=s3', '/cb?api%5Fkey%=[REDACTED]'],
    ['/cb?x=%&access%5Ftoken=s4', '/cb?x=%&access%5Ftoken=[REDACTED]'],
    ['/cb?%E2%82%AC%FFtoken=s5', '/cb?%E2%82%AC%FFtoken=[REDACTED]'],
  ])('masks %s', (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });

  it('leaves harmless names with bad escapes alone', () => {
    expect(maskUrl('/cb?page%=2&q=%ZZ')).toBe('/cb?page%=2&q=%ZZ');
  });
});

describe('isSecretName and passwords', () => {
  it('treats pass and passphrase like password', () => {
    expect(['pass', 'PASS', 'passphrase', 'ssh_passphrase', 'user[passphrase]', 'passwd', 'password'].every(isSecretName)).toBe(true);
    expect(maskUrl('/login?user=ada&pass=p1&passphrase=p2')).toBe('/login?user=ada&pass=[REDACTED]&passphrase=[REDACTED]');
  });

  it('does not mask words that only contain "pass"', () => {
    expect(['passenger', 'bypass', 'compass', 'passage', 'pass_count'].some(isSecretName)).toBe(false);
  });
});

describe('maskHeaders on URL-valued headers a user allowed', () => {
  it('masks the secret query parameters of referer and location, keeping the rest', () => {
    const masked = maskHeaders(
      { referer: 'https://shop.example/cb?token=SECRET_R&page=2', location: ['/next?access_token=SECRET_L'], accept: 'text/html?token=kept' },
      ['referer', 'location', 'accept'],
    );
    expect(masked).toEqual({ referer: 'https://shop.example/cb?token=[REDACTED]&page=2', location: ['/next?access_token=[REDACTED]'], accept: 'text/html?token=kept' });
  });
});
