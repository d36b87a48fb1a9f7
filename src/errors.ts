/**
 * The error catalogue: every error relevo answers with, its HTTP status and its messages in the
 * three languages of the External Support Panel docs. `docs/errors.md` is checked against this
 * table by a test, so the two cannot drift. One file on purpose (~470 lines, most of them the
 * table): a new code is one entry here and one row there, and splitting the table by area would
 * only make a reader open several files to see every code.
 */

export type Lang = 'en' | 'es' | 'pt';
export type Localised = Readonly<Record<Lang, string>>;

export interface CatalogueEntry {
  readonly status: number;
  /** The envelope's top-level `message`: short, English, stable. */
  readonly message: string;
  /** What the caller did wrong and how to fix it. */
  readonly developer: Localised;
  /** Safe to show to an end user. */
  readonly client: Localised;
}

const TRY_AGAIN: Localised = {
  en: 'Something went wrong. Please try again in a moment.',
  es: 'Algo salió mal. Inténtalo de nuevo en un momento.',
  pt: 'Algo deu errado. Tente novamente em instantes.',
};

export const CATALOGUE = {
  unauthorized: {
    status: 401,
    message: 'Unauthorized',
    developer: {
      en: 'Send a valid credential of this project: x-api-key: <apiKey>, or Authorization: Basic base64(clientId:clientSecret).',
      es: 'Envía una credencial válida de este proyecto: x-api-key: <apiKey>, o Authorization: Basic base64(clientId:clientSecret).',
      pt: 'Envie uma credencial válida deste projeto: x-api-key: <apiKey>, ou Authorization: Basic base64(clientId:clientSecret).',
    },
    client: {
      en: 'You are not allowed to do this.',
      es: 'No tienes permiso para hacer esto.',
      pt: 'Você não tem permissão para fazer isso.',
    },
  },
  admin_unauthorized: {
    status: 401,
    message: 'Unauthorized',
    developer: {
      en: 'The admin API needs Authorization: Bearer <RELEVO_ADMIN_TOKEN>: the value the server was started with or, without one, the token its first start printed (`relevo admin-token reset` makes a new one); project credentials (x-api-key, Basic) are not accepted here.',
      es: 'La API de administración requiere Authorization: Bearer <RELEVO_ADMIN_TOKEN>: el valor con el que se inició el servidor o, sin él, el token que mostró su primer inicio (`relevo admin-token reset` crea uno nuevo); las credenciales de proyecto (x-api-key, Basic) no sirven aquí.',
      pt: 'A API de administração exige Authorization: Bearer <RELEVO_ADMIN_TOKEN>: o valor com que o servidor foi iniciado ou, sem ele, o token que o primeiro início mostrou (`relevo admin-token reset` cria um novo); credenciais de projeto (x-api-key, Basic) não valem aqui.',
    },
    client: {
      en: 'You are not allowed to do this.',
      es: 'No tienes permiso para hacer esto.',
      pt: 'Você não tem permissão para fazer isso.',
    },
  },
  invalid_signature: {
    status: 401,
    message: 'Invalid signature',
    developer: {
      en: 'X-Jelou-Signature must be sha256=<hex HMAC-SHA256 of the raw body> keyed with the project signingSecret.',
      es: 'X-Jelou-Signature debe ser sha256=<HMAC-SHA256 en hex del cuerpo crudo> con la signingSecret del proyecto.',
      pt: 'X-Jelou-Signature deve ser sha256=<HMAC-SHA256 em hex do corpo bruto> com a signingSecret do projeto.',
    },
    client: {
      en: 'You are not allowed to do this.',
      es: 'No tienes permiso para hacer esto.',
      pt: 'Você não tem permissão para fazer isso.',
    },
  },
  unprocessable_entity: {
    status: 422,
    message: 'Unprocessable entity',
    developer: {
      en: 'The request body is invalid; validationError lists each offending field and what is wrong with it.',
      es: 'El cuerpo de la solicitud no es válido; validationError indica cada campo incorrecto y el problema.',
      pt: 'O corpo da requisição é inválido; validationError lista cada campo incorreto e o problema.',
    },
    client: {
      en: 'The request could not be processed.',
      es: 'No se pudo procesar la solicitud.',
      pt: 'Não foi possível processar a solicitação.',
    },
  },
  bot_not_found: {
    status: 404,
    message: 'Bot not found',
    developer: {
      en: 'No bot with this id exists in this project; check botId.',
      es: 'No existe un bot con este id en este proyecto; revisa botId.',
      pt: 'Não existe um bot com este id neste projeto; verifique botId.',
    },
    client: {
      en: 'The assistant could not be found.',
      es: 'No se encontró el asistente.',
      pt: 'O assistente não foi encontrado.',
    },
  },
  user_not_found: {
    status: 404,
    message: 'User not found',
    developer: {
      en: 'No end user with this id exists in this project; check userId.',
      es: 'No existe un usuario final con este id en este proyecto; revisa userId.',
      pt: 'Não existe um usuário final com este id neste projeto; verifique userId.',
    },
    client: {
      en: 'The user could not be found.',
      es: 'No se encontró el usuario.',
      pt: 'O usuário não foi encontrado.',
    },
  },
  conversation_not_found: {
    status: 404,
    message: 'Conversation not found',
    developer: {
      en: 'No such conversation in this project, or no active conversation for this bot and user.',
      es: 'No existe esa conversación en este proyecto, o no hay una conversación activa para este bot y usuario.',
      pt: 'Não existe essa conversa neste projeto, ou não há conversa ativa para este bot e usuário.',
    },
    client: {
      en: 'The conversation could not be found.',
      es: 'No se encontró la conversación.',
      pt: 'A conversa não foi encontrada.',
    },
  },
  integration_not_found: {
    status: 404,
    message: 'Integration not found',
    developer: {
      en: 'This project has no integration; create one with POST .../external-support/{projectId}.',
      es: 'Este proyecto no tiene integración; créala con POST .../external-support/{projectId}.',
      pt: 'Este projeto não tem integração; crie uma com POST .../external-support/{projectId}.',
    },
    client: {
      en: 'The integration could not be found.',
      es: 'No se encontró la integración.',
      pt: 'A integração não foi encontrada.',
    },
  },
  integration_already_exists: {
    status: 409,
    message: 'Integration already exists',
    developer: {
      en: 'This project already has an integration; change it with PATCH or delete it first.',
      es: 'Este proyecto ya tiene una integración; modifícala con PATCH o elimínala primero.',
      pt: 'Este projeto já tem uma integração; altere-a com PATCH ou exclua-a primeiro.',
    },
    client: {
      en: 'The integration already exists.',
      es: 'La integración ya existe.',
      pt: 'A integração já existe.',
    },
  },
  conversation_already_active: {
    status: 409,
    message: 'Conversation already active',
    developer: {
      en: 'This bot and user already have an active conversation; close it before starting another.',
      es: 'Este bot y usuario ya tienen una conversación activa; ciérrala antes de iniciar otra.',
      pt: 'Este bot e usuário já têm uma conversa ativa; encerre-a antes de iniciar outra.',
    },
    client: {
      en: 'A conversation is already in progress.',
      es: 'Ya hay una conversación en curso.',
      pt: 'Já existe uma conversa em andamento.',
    },
  },
  room_owned_by_panel: {
    status: 409,
    message: 'Room owned by panel',
    developer: {
      en: 'A conversation with the panel is active in this room, so the panel answers the user, not the bot; wait for conversation.close before replying.',
      es: 'Hay una conversación activa con el panel en esta sala: el panel responde al usuario, no el bot; espera conversation.close antes de responder.',
      pt: 'Há uma conversa ativa com o painel nesta sala: o painel responde ao usuário, não o bot; aguarde conversation.close antes de responder.',
    },
    client: {
      en: 'An agent is taking care of this conversation.',
      es: 'Un agente está atendiendo esta conversación.',
      pt: 'Um atendente está cuidando desta conversa.',
    },
  },
  engine_has_no_secret: {
    status: 409,
    message: 'Engine has no secret',
    developer: {
      en: "Only an external engine has a signing secret; set the bot's engine to external first.",
      es: 'Solo un motor external tiene secreto de firma; configura primero el motor del bot como external.',
      pt: 'Só um motor external tem segredo de assinatura; defina primeiro o motor do bot como external.',
    },
    client: {
      en: 'This action is not available right now.',
      es: 'Esta acción no está disponible ahora.',
      pt: 'Esta ação não está disponível agora.',
    },
  },
  delivery_not_found: {
    status: 404,
    message: 'Delivery not found',
    developer: {
      en: 'No delivery with this id exists in this project; use the webhook-id of an event sent to this project.',
      es: 'No existe una entrega con este id en este proyecto; usa el webhook-id de un evento enviado a este proyecto.',
      pt: 'Não existe uma entrega com este id neste projeto; use o webhook-id de um evento enviado a este projeto.',
    },
    client: {
      en: 'The requested resource could not be found.',
      es: 'No se encontró el recurso solicitado.',
      pt: 'O recurso solicitado não foi encontrado.',
    },
  },
  idempotency_key_reused: {
    status: 422,
    message: 'Idempotency key reused',
    developer: {
      en: 'This Idempotency-Key was already used with a different request body; use a new key for a new request.',
      es: 'Esta Idempotency-Key ya se usó con otro cuerpo de solicitud; usa una clave nueva para una solicitud nueva.',
      pt: 'Esta Idempotency-Key já foi usada com outro corpo de requisição; use uma chave nova para uma nova requisição.',
    },
    client: TRY_AGAIN,
  },
  request_in_progress: {
    status: 409,
    message: 'Request in progress',
    developer: {
      en: 'A request with this Idempotency-Key is still being processed; retry after it completes.',
      es: 'Una solicitud con esta Idempotency-Key aún se está procesando; reintenta cuando termine.',
      pt: 'Uma requisição com esta Idempotency-Key ainda está sendo processada; tente novamente quando terminar.',
    },
    client: TRY_AGAIN,
  },
  payload_too_large: {
    status: 413,
    message: 'Payload too large',
    developer: {
      en: 'The request body is larger than the server accepts; send a smaller body.',
      es: 'El cuerpo de la solicitud supera el tamaño aceptado; envía un cuerpo más pequeño.',
      pt: 'O corpo da requisição excede o tamanho aceito; envie um corpo menor.',
    },
    client: {
      en: 'The request is too large.',
      es: 'La solicitud es demasiado grande.',
      pt: 'A solicitação é grande demais.',
    },
  },
  unsupported_media_type: {
    status: 415,
    message: 'Unsupported media type',
    developer: {
      en: 'Send the body as JSON with Content-Type: application/json.',
      es: 'Envía el cuerpo como JSON con Content-Type: application/json.',
      pt: 'Envie o corpo como JSON com Content-Type: application/json.',
    },
    client: {
      en: 'The request could not be processed.',
      es: 'No se pudo procesar la solicitud.',
      pt: 'Não foi possível processar a solicitação.',
    },
  },
  rate_limited: {
    status: 429,
    message: 'Too many requests',
    developer: {
      en: 'This credential sent more requests than allowed; wait for the seconds in Retry-After, then retry.',
      es: 'Esta credencial envió más solicitudes de las permitidas; espera los segundos de Retry-After y reintenta.',
      pt: 'Esta credencial enviou mais requisições do que o permitido; aguarde os segundos de Retry-After e tente novamente.',
    },
    client: TRY_AGAIN,
  },
  bad_request: {
    status: 400,
    message: 'Bad request',
    developer: {
      en: 'The HTTP request itself is malformed (request line, headers or encoding); fix the client.',
      es: 'La solicitud HTTP en sí está mal formada (línea de solicitud, cabeceras o codificación); corrige el cliente.',
      pt: 'A requisição HTTP em si está malformada (linha de requisição, cabeçalhos ou codificação); corrija o cliente.',
    },
    client: {
      en: 'The request could not be processed.',
      es: 'No se pudo procesar la solicitud.',
      pt: 'Não foi possível processar a solicitação.',
    },
  },
  route_not_found: {
    status: 404,
    message: 'Route not found',
    developer: {
      en: 'No route matches this method and path; see /docs for the API reference.',
      es: 'Ninguna ruta coincide con este método y ruta; consulta /docs para la referencia de la API.',
      pt: 'Nenhuma rota corresponde a este método e caminho; veja /docs para a referência da API.',
    },
    client: {
      en: 'The requested resource could not be found.',
      es: 'No se encontró el recurso solicitado.',
      pt: 'O recurso solicitado não foi encontrado.',
    },
  },
  method_not_allowed: {
    status: 405,
    message: 'Method not allowed',
    developer: {
      en: 'This path exists but not with this method; the Allow header lists the methods it takes.',
      es: 'Esta ruta existe pero no con este método; la cabecera Allow indica los métodos que acepta.',
      pt: 'Este caminho existe, mas não com este método; o cabeçalho Allow lista os métodos que aceita.',
    },
    client: {
      en: 'The request could not be processed.',
      es: 'No se pudo procesar la solicitud.',
      pt: 'Não foi possível processar a solicitação.',
    },
  },
  request_timeout: {
    status: 408,
    message: 'Request timeout',
    developer: {
      en: 'The request line, headers or body arrived too slowly; send the whole request promptly on a new connection.',
      es: 'La línea de solicitud, las cabeceras o el cuerpo llegaron demasiado lento; envía la solicitud completa a tiempo en una conexión nueva.',
      pt: 'A linha de requisição, os cabeçalhos ou o corpo chegaram devagar demais; envie a requisição completa a tempo em uma nova conexão.',
    },
    client: TRY_AGAIN,
  },
  uri_too_long: {
    status: 414,
    message: 'URI too long',
    developer: {
      en: 'A path segment is longer than 100 characters; relevo ids are much shorter, so check the URL.',
      es: 'Un segmento de la ruta supera los 100 caracteres; los ids de relevo son mucho más cortos, revisa la URL.',
      pt: 'Um segmento do caminho passa de 100 caracteres; os ids do relevo são bem mais curtos, verifique a URL.',
    },
    client: {
      en: 'The request could not be processed.',
      es: 'No se pudo procesar la solicitud.',
      pt: 'Não foi possível processar a solicitação.',
    },
  },
  headers_too_large: {
    status: 431,
    message: 'Headers too large',
    developer: {
      en: 'The request line and headers together exceed 16 KiB; send fewer or shorter headers.',
      es: 'La línea de solicitud y las cabeceras superan juntas 16 KiB; envía menos cabeceras o más cortas.',
      pt: 'A linha de requisição e os cabeçalhos juntos passam de 16 KiB; envie menos cabeçalhos ou mais curtos.',
    },
    client: {
      en: 'The request is too large.',
      es: 'La solicitud es demasiado grande.',
      pt: 'A solicitação é grande demais.',
    },
  },
  admin_api_disabled: {
    status: 404,
    message: 'Admin API disabled',
    developer: {
      en: 'The admin API is off on this server. Turn it on by starting it without RELEVO_ADMIN_TOKEN=off (or with RELEVO_ADMIN_TOKEN set to a token of at least 16 characters); if its database has no admin token, `relevo admin-token reset` creates one.',
      es: 'La API de administración está desactivada en este servidor. Actívala iniciándolo sin RELEVO_ADMIN_TOKEN=off (o con RELEVO_ADMIN_TOKEN con un token de al menos 16 caracteres); si su base de datos no tiene token de administración, `relevo admin-token reset` crea uno.',
      pt: 'A API de administração está desativada neste servidor. Ative-a iniciando-o sem RELEVO_ADMIN_TOKEN=off (ou com RELEVO_ADMIN_TOKEN com um token de pelo menos 16 caracteres); se o banco de dados não tiver token de administração, `relevo admin-token reset` cria um.',
    },
    client: {
      en: 'The requested resource could not be found.',
      es: 'No se encontró el recurso solicitado.',
      pt: 'O recurso solicitado não foi encontrado.',
    },
  },
  console_not_built: {
    status: 503,
    message: 'Console not built',
    developer: {
      en: 'The console (/console) has not been built on this server: run `npm run build` (or start with `npm start`, which builds what is missing), then reload.',
      es: 'La consola (/console) no se ha compilado en este servidor: ejecuta `npm run build` (o inicia con `npm start`, que compila lo que falta) y recarga.',
      pt: 'O console (/console) não foi compilado neste servidor: execute `npm run build` (ou inicie com `npm start`, que compila o que falta) e recarregue.',
    },
    client: TRY_AGAIN,
  },
  project_not_found: {
    status: 404,
    message: 'Project not found',
    developer: {
      en: 'No project with this id exists (admin API).',
      es: 'No existe un proyecto con este id (API de administración).',
      pt: 'Não existe um projeto com este id (API de administração).',
    },
    client: {
      en: 'The requested resource could not be found.',
      es: 'No se encontró el recurso solicitado.',
      pt: 'O recurso solicitado não foi encontrado.',
    },
  },
  credential_not_found: {
    status: 404,
    message: 'Credential not found',
    developer: {
      en: 'No credential with this id exists in this project (admin API).',
      es: 'No existe una credencial con este id en este proyecto (API de administración).',
      pt: 'Não existe uma credencial com este id neste projeto (API de administração).',
    },
    client: {
      en: 'The requested resource could not be found.',
      es: 'No se encontró el recurso solicitado.',
      pt: 'O recurso solicitado não foi encontrado.',
    },
  },
  reference_id_taken: {
    status: 409,
    message: 'Reference id already used',
    developer: {
      en: 'Another end user of this project already has this referenceId (admin API).',
      es: 'Otro usuario final de este proyecto ya tiene este referenceId (API de administración).',
      pt: 'Outro usuário final deste projeto já tem este referenceId (API de administração).',
    },
    client: {
      en: 'The request could not be processed.',
      es: 'No se pudo procesar la solicitud.',
      pt: 'Não foi possível processar a solicitação.',
    },
  },
  active_conversations: {
    status: 409,
    message: 'Active conversations remain',
    developer: {
      en: 'This project, bot or end user still has active conversations (admin API); close them, or repeat the deletion with ?force=true to close them first, each with its conversation.close event.',
      es: 'Este proyecto, bot o usuario final aún tiene conversaciones activas (API de administración); ciérralas, o repite la eliminación con ?force=true para cerrarlas antes, cada una con su evento conversation.close.',
      pt: 'Este projeto, bot ou usuário final ainda tem conversas ativas (API de administração); encerre-as, ou repita a exclusão com ?force=true para encerrá-las antes, cada uma com seu evento conversation.close.',
    },
    client: {
      en: 'A conversation is still in progress.',
      es: 'Todavía hay una conversación en curso.',
      pt: 'Ainda há uma conversa em andamento.',
    },
  },
  service_unavailable: {
    status: 503,
    message: 'Service unavailable',
    developer: {
      en: 'The database is unreachable or out of space; the request was not stored. Retry with backoff.',
      es: 'La base de datos no está disponible o sin espacio; la solicitud no se guardó. Reintenta con espera.',
      pt: 'O banco de dados está indisponível ou sem espaço; a requisição não foi armazenada. Tente novamente com espera.',
    },
    client: TRY_AGAIN,
  },
  verify_token_mismatch: {
    status: 403,
    message: 'Verify token mismatch',
    developer: {
      en: "A WhatsApp webhook verification (hub.mode=subscribe) must carry in hub.verify_token the bot channel's verifyToken, and a hub.challenge.",
      es: 'Una verificación del webhook de WhatsApp (hub.mode=subscribe) debe llevar en hub.verify_token el verifyToken del canal del bot, y un hub.challenge.',
      pt: 'Uma verificação do webhook do WhatsApp (hub.mode=subscribe) deve trazer em hub.verify_token o verifyToken do canal do bot, e um hub.challenge.',
    },
    client: {
      en: 'You are not allowed to do this.',
      es: 'No tienes permiso para hacer esto.',
      pt: 'Você não tem permissão para fazer isso.',
    },
  },
  media_not_found: {
    status: 404,
    message: 'Media not found',
    developer: {
      en: 'No media file has this address; use the url of the message exactly as relevo gave it.',
      es: 'Ningún archivo multimedia tiene esta dirección; usa la url del mensaje tal como relevo la dio.',
      pt: 'Nenhum arquivo de mídia tem este endereço; use a url da mensagem exatamente como o relevo a deu.',
    },
    client: {
      en: 'This file is not available.',
      es: 'Este archivo no está disponible.',
      pt: 'Este arquivo não está disponível.',
    },
  },
  media_unavailable: {
    status: 502,
    message: 'Media unavailable',
    developer: {
      en: "The file could not be fetched from WhatsApp's Graph API (refused, too large, of another type, or unreachable); the server log says why. It is fetched again on the next request.",
      es: 'No se pudo obtener el archivo de la Graph API de WhatsApp (rechazado, demasiado grande, de otro tipo o inalcanzable); el registro del servidor dice por qué. Se vuelve a pedir en la próxima solicitud.',
      pt: 'Não foi possível obter o arquivo da Graph API do WhatsApp (recusado, grande demais, de outro tipo ou inalcançável); o log do servidor diz por quê. Ele é buscado de novo na próxima requisição.',
    },
    client: {
      en: 'This file cannot be shown right now. Please try again in a moment.',
      es: 'Este archivo no se puede mostrar ahora. Inténtalo de nuevo en un momento.',
      pt: 'Este arquivo não pode ser exibido agora. Tente novamente em instantes.',
    },
  },
  database_unavailable: {
    status: 503,
    message: 'Database unavailable',
    developer: {
      en: 'Readiness: the database did not answer a trivial query within 2 seconds; this node should not get traffic until it does.',
      es: 'Disponibilidad: la base de datos no respondió una consulta trivial en 2 segundos; este nodo no debe recibir tráfico hasta que responda.',
      pt: 'Prontidão: o banco de dados não respondeu a uma consulta trivial em 2 segundos; este nó não deve receber tráfego até responder.',
    },
    client: TRY_AGAIN,
  },
  migrations_pending: {
    status: 503,
    message: 'Migrations pending',
    developer: {
      en: 'Readiness: the database schema is older than this version of relevo; run `relevo migrate` (or restart a node, which migrates at start).',
      es: 'Disponibilidad: el esquema de la base de datos es anterior a esta versión de relevo; ejecuta `relevo migrate` (o reinicia un nodo, que migra al arrancar).',
      pt: 'Prontidão: o esquema do banco de dados é anterior a esta versão do relevo; execute `relevo migrate` (ou reinicie um nó, que migra ao iniciar).',
    },
    client: TRY_AGAIN,
  },
  shutting_down: {
    status: 503,
    message: 'Shutting down',
    developer: {
      en: 'Readiness: this node is draining after SIGTERM; it finishes the requests it has and takes no new ones. Send traffic to another node.',
      es: 'Disponibilidad: este nodo se está vaciando tras SIGTERM; termina las solicitudes que tiene y no acepta nuevas. Envía el tráfico a otro nodo.',
      pt: 'Prontidão: este nó está sendo drenado após SIGTERM; termina as requisições que tem e não aceita novas. Envie o tráfego para outro nó.',
    },
    client: TRY_AGAIN,
  },
  internal_server_error: {
    status: 500,
    message: 'Internal server error',
    developer: {
      en: 'An unexpected error occurred; report the request id to the operator, who can find it in the server log.',
      es: 'Ocurrió un error inesperado; informa el id de la solicitud al operador, que lo encontrará en el registro.',
      pt: 'Ocorreu um erro inesperado; informe o id da requisição ao operador, que o encontrará no log do servidor.',
    },
    client: TRY_AGAIN,
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof CATALOGUE;

/** Field path → human-readable problems, as in the envelope's `validationError`. */
export type ValidationErrors = Record<string, string[]>;

/**
 * A map to collect problems in. No prototype: a field literally named `__proto__` or
 * `constructor` becomes an ordinary entry, reported like any unknown field.
 */
export function problemMap(): ValidationErrors {
  return Object.create(null) as ValidationErrors;
}

/**
 * An error that becomes the documented error envelope. `description` is specific to this
 * occurrence (it may name the id the caller sent); `developerExtra` is appended to every
 * developer message (e.g. the id of the active conversation on a 409).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly description: string = CATALOGUE[code].developer.en,
    readonly validation: ValidationErrors = {},
    options: { status?: number; developerExtra?: Localised; headers?: Record<string, string> } = {},
  ) {
    super(description);
    this.status = options.status ?? CATALOGUE[code].status;
    this.developerExtra = options.developerExtra;
    this.headers = options.headers ?? {};
  }
  readonly developerExtra: Localised | undefined;
  readonly headers: Record<string, string>;
}

export function validationError(fields: ValidationErrors, status?: number): ApiError {
  const paths = Object.keys(fields);
  const description =
    paths.length === 0
      ? 'The request body is invalid.'
      : `Invalid request: ${paths.map((p) => `${p} ${(fields[p] ?? []).join('; ')}`).join('; ')}.`;
  return new ApiError('unprocessable_entity', description, fields, status === undefined ? {} : { status });
}

/** Turns anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === 'string' ? e : `Non-error thrown: ${safeString(e)}`, { cause: e });
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
