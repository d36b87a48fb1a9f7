/**
 * The five message types (docs/api.md §4.9) and the fields of each: one TypeBox schema per type,
 * the only description of a message's content. The OpenAPI document and the events' schemas use
 * it as it is; the validator (domain/messages/message-content.ts) reads its rules from it.
 */
import { type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { StringEnum } from './schema-parts.js';
import type { MessageType } from './types.js';

export const MESSAGE_TYPES: readonly MessageType[] = ['text', 'image', 'video', 'audio', 'document'];

/** A text body's limit, as for initialMessage (docs/api.md §4.6). */
export const TEXT_MAX_CHARS = 4096;
/** Captions, file names and URLs: 2048, the long-standing practical limit of a URL. */
export const FIELD_MAX_CHARS = 2048;

/** A media URL: absolute http(s). The validator knows this field by identity. */
export const UrlField = Type.String({
  maxLength: FIELD_MAX_CHARS,
  description: 'Absolute http(s) URL of the media',
});
/** A MIME type such as image/png. The validator knows this field by identity. */
export const MimeTypeField = Type.String({ maxLength: 255, description: 'MIME type, e.g. image/png' });
const short = (description: string) => Type.String({ minLength: 1, maxLength: FIELD_MAX_CHARS, description });

export const MESSAGE_CONTENT = {
  text: Type.Object(
    { body: Type.String({ minLength: 1, maxLength: TEXT_MAX_CHARS }) },
    { additionalProperties: false },
  ),
  image: Type.Object(
    {
      url: UrlField,
      mime_type: MimeTypeField,
      caption: Type.Optional(short('Caption shown under the image')),
    },
    { additionalProperties: false },
  ),
  video: Type.Object(
    {
      url: UrlField,
      mime_type: MimeTypeField,
      caption: Type.Optional(short('Caption shown under the video')),
    },
    { additionalProperties: false },
  ),
  audio: Type.Object({ url: UrlField, mime_type: MimeTypeField }, { additionalProperties: false }),
  document: Type.Object(
    {
      url: UrlField,
      mime_type: MimeTypeField,
      filename: Type.Optional(short('File name shown to the user')),
    },
    { additionalProperties: false },
  ),
} satisfies Record<MessageType, TSchema>;

/**
 * `{ type, content }` as one branch per type (plus `extra` properties), for the OpenAPI document
 * and the events; requests are checked by the validator, which names the exact field.
 */
export function messageSchema(extra: TProperties = {}, description?: string): TSchema {
  return Type.Union(
    MESSAGE_TYPES.map((type) =>
      Type.Object(
        { ...extra, type: StringEnum([type]), content: MESSAGE_CONTENT[type] },
        { additionalProperties: false },
      ),
    ),
    description === undefined ? {} : { description },
  );
}
