import * as z from 'zod';

/**
 * A checker for CloudEvents 1.0 written from the specification (cloudevents/spec, v1.0.2,
 * "Context Attributes"), independent of Vigil's own encoder:
 * - REQUIRED: `id` (non-empty String), `source` (non-empty URI-reference), `specversion`
 *   (non-empty String; "1.0" for this version), `type` (non-empty String).
 * - OPTIONAL: `datacontenttype` (RFC 2046 media type), `dataschema` (URI), `subject`
 *   (non-empty String), `time` (Timestamp: RFC 3339).
 * - Attribute names are lower-case ASCII letters and digits; `data` carries the payload
 *   (in the JSON format, `data` holds JSON when datacontenttype is application/json).
 */
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const mediaType = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;.*)?$/;
/** URI-reference (RFC 3986): no whitespace or characters outside the URI set; resolvable by WHATWG URL relative to a base. */
const uriReference = z
  .string()
  .min(1)
  .refine((s) => /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/.test(s) && URL.canParse(s, 'http://base.invalid/'));

export const cloudEventSpec = z
  .looseObject({
    id: z.string().min(1),
    source: uriReference,
    specversion: z.literal('1.0'),
    type: z.string().min(1),
    datacontenttype: z.string().regex(mediaType).optional(),
    dataschema: z
      .string()
      .refine((s) => URL.canParse(s))
      .optional(),
    subject: z.string().min(1).optional(),
    time: z
      .string()
      .regex(rfc3339)
      .refine((s) => !Number.isNaN(Date.parse(s)))
      .optional(),
  })
  .refine((e) => Object.keys(e).every((k) => /^[a-z0-9]{1,20}$/.test(k)), {
    message: 'attribute names are lower-case letters and digits',
  });
