/**
 * The demo org: the records behind the reference page's example requests, so that they work as
 * they are against a fresh server. Its credentials are public; the server says so when it loads them.
 */
export const DEMO_TILL = { username: 'demo.till', password: 'demo-till-password' } as const;
export const DEMO_CLIENT = { key: 'demo-client', secret: 'demo-client-secret' } as const;

const member = { sources: ['INSTORE'], programIds: [469, 2714] };

export const DEMO_FIXTURE = {
  orgs: [
    {
      id: 1,
      name: 'Demo org (public credentials: do not use for real customers)',
      programs: [
        { id: 469, name: 'Demo loyalty program' },
        { id: 2714, name: 'Demo direct-issue program' },
      ],
      promotions: [
        { id: 57099, programId: 469, name: 'Review reward', type: 'ENROL_AND_ISSUE', maxEarnsPerCustomer: 5 },
        { id: 69218, programId: 469, name: 'Spend 5000, earn a voucher', type: 'ENROL_AND_ISSUE' },
        { id: 202188, programId: 2714, name: 'Enrol-and-issue in program 2714', type: 'ENROL_AND_ISSUE' },
        { id: 202090, programId: 2714, name: 'Five purchases, one free item', type: 'DIRECT' },
      ],
      customers: [
        { id: 555567088, ...member },
        { mobile: '11223569865', ...member },
        { mobile: '919986000586', ...member },
        { id: 423926198, ...member },
        { id: 423926199, ...member },
        { id: 423926200, ...member },
        { id: 423926201, ...member },
      ],
      tills: [{ ...DEMO_TILL, customerAccess: 'WRITE' }],
      apiClients: [{ ...DEMO_CLIENT, customerAccess: 'WRITE' }],
    },
  ],
};
