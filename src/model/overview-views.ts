/**
 * What a project's overview answers (docs/api.md §5.10): one TypeBox schema per shape, whose
 * static type is the view's type; built by domain/projects/overview.service.ts.
 */
import { type Static, Type } from '@sinclair/typebox';

const Count = (description: string) => Type.Integer({ minimum: 0, description });
const Timestamp = (description: string) =>
  Type.String({ format: 'date-time', description, examples: ['2026-01-15T10:30:00.000Z'] });

export const MinuteView = Type.Object(
  {
    minute: Timestamp("The minute's start"),
    delivered: Count('Attempts that got a 2xx'),
    failed: Count('Attempts that did not'),
  },
  { additionalProperties: false },
);

export const ProjectOverview = Type.Object(
  {
    activeConversations: Count('Conversations the panel has now'),
    eventsWaiting: Count("Events for the project's webhook not delivered yet (pending)"),
    deadLetters: Count("Events for the project's webhook whose every attempt failed (status failed)"),
    lastHour: Type.Object(
      {
        from: Timestamp('The first minute counted'),
        to: Timestamp('When the figures were read'),
        delivered: Count('Attempts to the webhook that got a 2xx'),
        failed: Count('Attempts to the webhook that did not'),
        successRate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
          description: 'delivered / (delivered + failed); null when there was no attempt',
        }),
        perMinute: Type.Array(MinuteView, {
          description: 'Sixty minutes, oldest first; the last is the current one',
        }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type ProjectOverviewView = Static<typeof ProjectOverview>;
