import { ConflictError, NotFoundError } from './errors.js';
import type { Page, PageTokens } from './page-token.js';
import type { ModuleClassRecord, RegistryStore } from './store.js';

export interface NewModuleClass {
  id: string;
  fromObserved: boolean;
  description: string;
}

/** The registered identifiers that configs may name, and the rules that keep configs valid. */
export class ModuleClassesService {
  constructor(
    private readonly store: RegistryStore,
    private readonly pageTokens: PageTokens,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** `actor` (who asks) is recorded in the change feed, as for every write below. */
  async create(input: NewModuleClass, actor: string): Promise<ModuleClassRecord> {
    const at = this.now();
    const record: ModuleClassRecord = { ...input, builtIn: false, createdAt: at, updatedAt: at };
    if (!(await this.store.createModuleClass(record, actor))) {
      throw new ConflictError(`Module class '${input.id}' is already registered.`);
    }
    return record;
  }

  async get(id: string): Promise<ModuleClassRecord> {
    const record = await this.store.getModuleClass(id);
    if (record === null) throw notFound(id);
    return record;
  }

  async list(params: { prefix?: string; pageSize: number; pageToken?: string }): Promise<Page<ModuleClassRecord>> {
    const fingerprint = JSON.stringify(['module-classes', params.prefix ?? null]);
    const after = this.pageTokens.cursor(params.pageToken, fingerprint);
    const rows = await this.store.listModuleClasses({
      ...(params.prefix === undefined ? {} : { prefix: params.prefix }),
      ...(after === undefined ? {} : { after: String(after) }),
      limit: params.pageSize + 1,
    });
    return this.pageTokens.page(rows, params.pageSize, fingerprint, (last) => last.id);
  }

  /** An update that changes nothing answers the class as it is, and leaves no event. */
  async update(id: string, update: { fromObserved?: boolean; description?: string }, actor: string): Promise<ModuleClassRecord> {
    const result = await this.store.updateModuleClass(id, { ...update, updatedAt: this.now(), by: actor });
    if (result === null) throw notFound(id);
    if (!result.ok) {
      throw new ConflictError(
        `Module class '${id}' is the quantized class of live configs; fromObserved cannot be turned off while they use it.`,
        { configs: result.blockedBy },
      );
    }
    return result.record;
  }

  async delete(id: string, actor: string): Promise<void> {
    const result = await this.store.deleteModuleClass(id, { at: this.now(), by: actor });
    if (result === null) throw notFound(id);
    if (!result.ok) {
      throw new ConflictError(`Module class '${id}' is referenced by live configs; change or delete them first.`, {
        configs: result.blockedBy,
      });
    }
  }

  async references(id: string, params: { pageSize: number; pageToken?: string }): Promise<Page<string>> {
    await this.get(id);
    const fingerprint = JSON.stringify(['references', id]);
    const after = this.pageTokens.cursor(params.pageToken, fingerprint);
    const names = await this.store.classReferences(id, {
      ...(after === undefined ? {} : { after: String(after) }),
      limit: params.pageSize + 1,
    });
    return this.pageTokens.page(names, params.pageSize, fingerprint, (last) => last);
  }
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`Module class '${id}' is not registered.`);
}
