/** Derives the PostgreSQL schema text from prisma/schema.prisma's (provider and output swapped). */
export function derivePostgresSchema(text: string): string;
