/** A quoted SQL identifier ("a""b"), and a table of the public schema by name. */
export const quoteIdent = (ident: string): string => `"${ident.replace(/"/g, '""')}"`;

export const publicTable = (table: string): string => `public.${quoteIdent(table)}`;
