import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { scramVerifier } from '../../lib/scram';

const VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/;

function parts(verifier: string) {
  const m = VERIFIER.exec(verifier);
  if (!m) throw new Error(`not a SCRAM-SHA-256 verifier: ${verifier}`);
  return {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2]!, 'base64'),
    storedKey: Buffer.from(m[3]!, 'base64'),
    serverKey: Buffer.from(m[4]!, 'base64'),
  };
}

const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i]!));

describe('scramVerifier', () => {
  test('format: SCRAM-SHA-256$4096:<salt b64>$<StoredKey b64>:<ServerKey b64>', () => {
    const v = scramVerifier('s3cret');
    const p = parts(v);
    expect(p.iterations).toBe(4096);
    expect(p.salt).toHaveLength(16);
    expect(p.storedKey).toHaveLength(32);
    expect(p.serverKey).toHaveLength(32);
  });

  test('a random salt each time by default; deterministic for a fixed salt', () => {
    expect(scramVerifier('pw')).not.toBe(scramVerifier('pw'));
    const salt = Buffer.alloc(16, 7);
    expect(scramVerifier('pw', salt)).toBe(scramVerifier('pw', salt));
    expect(scramVerifier('pw', salt)).not.toBe(scramVerifier('pw2', salt));
  });

  test('iterations are honoured and written out', () => {
    const v = scramVerifier('pw', Buffer.alloc(16, 1), 10000);
    expect(parts(v).iterations).toBe(10000);
    expect(v).not.toBe(scramVerifier('pw', Buffer.alloc(16, 1), 4096));
  });

  test('known answer: the RFC 7677 section 3 exchange (user "user", password "pencil") verifies', () => {
    // The example exchange from RFC 7677 §3, verbatim.
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const clientFirstBare = 'n=user,r=rOprNGfwEbeRWgbNEkqO';
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
    const clientFinalWithoutProof = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const clientProof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const serverSignature = Buffer.from('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=', 'base64');
    const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;

    const { storedKey, serverKey, salt: storedSalt, iterations } = parts(scramVerifier('pencil', salt, 4096));
    expect(storedSalt.equals(salt)).toBe(true);
    expect(iterations).toBe(4096);
    // What a server holding only the verifier does (RFC 5802 §3): recover ClientKey from the proof, hash it, compare.
    const clientKey = xor(clientProof, hmac(storedKey, authMessage));
    expect(timingSafeEqual(createHash('sha256').update(clientKey).digest(), storedKey)).toBe(true);
    // And the signature the server sends back must be the RFC's.
    expect(hmac(serverKey, authMessage).equals(serverSignature)).toBe(true);
  });

  test('known answer: independent derivation with node:crypto (RFC 5802 §3 formulas)', () => {
    const salt = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const password = 'correct horse battery staple';
    const salted = pbkdf2Sync(password, salt, 4096, 32, 'sha256'); // Hi() is PBKDF2 with HMAC-SHA-256
    const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest('base64');
    const serverKey = hmac(salted, 'Server Key').toString('base64');
    expect(scramVerifier(password, salt)).toBe(`SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$${storedKey}:${serverKey}`);
  });

  test('NFKC normalisation: a compatibility character gives the same verifier as its normal form', () => {
    // U+FB01 (LATIN SMALL LIGATURE FI) normalises to "fi" under NFKC, as SASLprep does.
    const salt = Buffer.alloc(16, 3);
    expect(scramVerifier('\uFB01sh', salt)).toBe(scramVerifier('fish', salt));
  });
});
