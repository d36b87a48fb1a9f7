/** Small TypeBox pieces that several wire shapes share. */
import { Type } from '@sinclair/typebox';

/** A string from a fixed list, as a plain `enum` so a refusal names every allowed value once. */
export function StringEnum<const T extends string>(
  values: readonly T[],
  options: { description?: string } = {},
) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

export const AssignmentSchema = Type.Object(
  {
    type: StringEnum(['queue', 'operator', 'team'], {
      description: 'queue, operator or team; echoed in the event exactly as sent',
    }),
    target: Type.String({ minLength: 1, description: 'Queue name or agent/team identifier' }),
  },
  { additionalProperties: false },
);
