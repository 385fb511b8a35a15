import type { IssualReport, PageInput } from '../contract/admin.contract.js';
import { MAX_PAGE_LIMIT } from '../contract/admin.contract.js';
import { AppError } from '../errors.js';
import type { AdminRepository, EarnRecord } from './admin.repository.js';
import { cutPage, type PageRequest, parsePage } from './page.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export type IssualReportService = ReturnType<typeof createIssualReportService>;

/** A promotion's enrolment report: its issuals, oldest first, each with its earns; revoked ones too. */
export function createIssualReportService({ repository }: { repository: AdminRepository }) {
  async function requirePromotion(orgId: number, promotionId: number): Promise<void> {
    if (!(await repository.findPromotion(orgId, promotionId))) {
      throw new AppError('not_found', `promotion ${promotionId} does not exist in org ${orgId}`);
    }
  }

  async function readPage(orgId: number, promotionId: number, page: PageRequest): Promise<IssualReport> {
    const rows = await repository.issualPage(orgId, promotionId, page.after, page.limit + 1);
    const { items, nextCursor } = cutPage(rows, page, (r) => r.id);
    const earns = await repository.earnsOfIssuals(
      orgId,
      items.map((r) => r.id),
    );
    const byIssual = new Map<number, EarnRecord[]>();
    for (const e of earns) byIssual.set(e.issualId, [...(byIssual.get(e.issualId) ?? []), e]);
    return {
      issuals: items.map((r) => ({
        issualId: String(r.id),
        customerId: r.customerId,
        createdAt: new Date(r.createdAt).toISOString(),
        revokedAt: iso(r.revokedAt),
        earns: (byIssual.get(r.id) ?? []).map((e) => ({
          earnedId: String(e.id),
          createdAt: new Date(e.createdAt).toISOString(),
          revokedAt: iso(e.revokedAt),
        })),
      })),
      nextCursor,
    };
  }

  async function report(orgId: number, promotionId: number, query: PageInput): Promise<IssualReport> {
    const page = parsePage(query);
    await requirePromotion(orgId, promotionId);
    return readPage(orgId, promotionId, page);
  }

  /** The whole report as CSV lines (a header, then a row per earn, or per issual without earns). */
  async function csv(orgId: number, promotionId: number): Promise<AsyncIterable<string>> {
    // Checked now, so that a missing promotion is a 404 rather than a broken download.
    await requirePromotion(orgId, promotionId);
    return (async function* lines() {
      yield 'issualId,customerId,createdAt,revokedAt,earnedId,earnCreatedAt,earnRevokedAt\n';
      let after: number | null = 0;
      while (after !== null) {
        const page: IssualReport = await readPage(orgId, promotionId, { limit: MAX_PAGE_LIMIT, after });
        let chunk = '';
        for (const i of page.issuals) {
          const head = [i.issualId, i.customerId, i.createdAt, i.revokedAt ?? ''].join(',');
          if (i.earns.length === 0) chunk += `${head},,,\n`;
          for (const e of i.earns) chunk += `${head},${e.earnedId},${e.createdAt},${e.revokedAt ?? ''}\n`;
        }
        if (chunk) yield chunk;
        after = page.nextCursor === null ? null : Number(page.nextCursor);
      }
    })();
  }

  return { report, csv };
}
