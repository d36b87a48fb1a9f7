/**
 * Encryption at rest of the secrets relevo must be able to read back (unlike API keys, which are
 * only hashed): integrations' signing secrets and webhook authorization values, and channels'
 * signing keys. AES-256-GCM with the key from RELEVO_ENCRYPTION_KEY; a stolen database file or
 * backup without the key yields no usable secret.
 *
 * Stored form: `enc:v1:<iv>:<tag>:<ciphertext>` (base64url). A value without that prefix is
 * plaintext — written before a key was configured — and is still read, so a key can be turned
 * on for an existing installation; each secret is encrypted the next time it is written.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StorageUnavailable } from './errors.js';

const PREFIX = 'enc:v1:';
/** 96-bit IVs are GCM's native size; random ones are safe far beyond any secret count here. */
const IV_BYTES = 12;

export class SecretBox {
  /** `key`: 32 bytes, or undefined to store plaintext (start-up warns about it). */
  constructor(private readonly key: Buffer | undefined) {
    if (key !== undefined && key.length !== 32) throw new RangeError('the encryption key must be 32 bytes');
  }

  get encrypting(): boolean {
    return this.key !== undefined;
  }

  seal(plain: string): string;
  seal(plain: string | null): string | null;
  seal(plain: string | null): string | null {
    if (plain === null || this.key === undefined) return plain;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${iv.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}:${body.toString('base64url')}`;
  }

  open(stored: string): string;
  open(stored: string | null): string | null;
  open(stored: string | null): string | null {
    if (stored === null || !stored.startsWith(PREFIX)) return stored;
    if (this.key === undefined) {
      throw new StorageUnavailable(
        'a secret in the database is encrypted but RELEVO_ENCRYPTION_KEY is not set; start relevo with the key it was written with',
      );
    }
    const [iv, tag, body] = stored.slice(PREFIX.length).split(':');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv ?? '', 'base64url'));
      decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(body ?? '', 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch (e) {
      throw new StorageUnavailable(
        'a secret in the database cannot be decrypted with RELEVO_ENCRYPTION_KEY (a different key?)',
        { cause: e },
      );
    }
  }
}

/** No key: secrets are stored as given. */
export const PLAINTEXT = new SecretBox(undefined);
