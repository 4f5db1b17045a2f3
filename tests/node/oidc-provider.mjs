// A real OpenID provider for the sign-in and bearer-token tests: the certified `oidc-provider` package, on 127.0.0.1 and
// a free port. It prints one line, "listening http://127.0.0.1:PORT", when it answers. Test-only: its accounts and
// clients are fixed below, its login form (dev interactions) takes any password, and /test/mint signs tokens that the
// provider cannot be asked for directly (already expired; signed with a key it does not publish).
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const accounts = {
  'olga': { name: 'Olga Ops', groups: ['permit-ops'] },
  'vera': { name: 'Vera Viewer', groups: ['permit-viewers'] },
  'nora': { name: 'Nora Nobody', groups: ['canteen'] },
};
// Service clients (client credentials grant): each one's token carries these groups.
const services = {
  'permit-system': ['permit-system'],
  'permit-monitor': ['permit-viewers'],
  'permit-ops-bot': ['permit-ops'],
  'canteen-app': ['canteen'],
};
const secret = process.env.OIDC_CLIENT_SECRET ?? 'dashboard-secret-for-tests-only';

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signing = { ...(await exportJWK(privateKey)), kid: 'provider-key', alg: 'RS256', use: 'sig' };
const { privateKey: strangerKey } = await generateKeyPair('RS256', { extractable: true });

const server = http.createServer();
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'lockstep-dashboard',
      client_secret: secret,
      redirect_uris: ['http://127.0.0.1/signin-oidc'],
      post_logout_redirect_uris: ['http://127.0.0.1/signout-callback-oidc'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    ...Object.keys(services).map(id => ({
      client_id: id,
      client_secret: `${id}-secret`,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    })),
  ],
  jwks: { keys: [signing] },
  cookies: { keys: [randomUUID()] },
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'groups', 'api'],
  claims: { openid: ['sub'], profile: ['name'], groups: ['groups'] },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Service clients get tokens for Lockstep by default; the dashboard's sign-in gets a token for userinfo.
      defaultResource: (ctx, client) => (client?.clientId === 'lockstep-dashboard' ? undefined : 'urn:lockstep'),
      useGrantedResource: () => true,
      // urn:lockstep is Lockstep (audience "lockstep"); any other resource is another API's audience.
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'api',
        audience: resource === 'urn:lockstep' ? 'lockstep' : resource.replace(/^urn:/, ''),
        accessTokenFormat: 'jwt',
        accessTokenTTL: 3600,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, name: accounts[id]?.name ?? id, groups: accounts[id]?.groups ?? [] }),
  }),
  extraTokenClaims: (ctx, token) =>
    token.kind === 'ClientCredentials' ? { groups: services[token.clientId] ?? [] } : undefined,
  // First-party dashboard: no consent screen.
  loadExistingGrant: async ctx => {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile groups');
    await grant.save();
    return grant;
  },
  ttl: { AccessToken: 3600, IdToken: 3600, Session: 3600, Interaction: 600, Grant: 3600, AuthorizationCode: 60 },
});
provider.proxy = false;

// The dashboard listens on a port chosen when its test starts: any loopback port is allowed for its callbacks.
const loopback = (uri, path) => { try { const u = new URL(uri); return u.protocol === 'http:' && u.hostname === '127.0.0.1' && u.pathname === path; } catch { return false; } };
provider.Client.prototype.redirectUriAllowed = function (uri) { return this.clientId === 'lockstep-dashboard' && loopback(uri, '/signin-oidc'); };
provider.Client.prototype.postLogoutRedirectUriAllowed = function (uri) { return this.clientId === 'lockstep-dashboard' && loopback(uri, '/signout-callback-oidc'); };

// POST /test/mint {sub, groups, audience, expired, stranger}: a JWT signed by the provider's key (or a stranger's with
// the same kid), expired an hour ago when asked.
provider.use(async (ctx, next) => {
  if (ctx.path !== '/test/mint' || ctx.method !== 'POST') return next();
  const body = await new Promise(resolve => { let s = ''; ctx.req.on('data', c => { s += c; }); ctx.req.on('end', () => resolve(JSON.parse(s || '{}'))); });
  const now = Math.floor(Date.now() / 1000);
  const iat = body.expired ? now - 7200 : now;
  ctx.body = await new SignJWT({ groups: body.groups ?? [], client_id: body.sub ?? 'minted' })
    .setProtectedHeader({ alg: 'RS256', kid: 'provider-key', typ: 'at+jwt' })
    .setIssuer(issuer).setSubject(body.sub ?? 'minted').setAudience(body.audience ?? 'lockstep').setJti(randomUUID())
    .setIssuedAt(iat).setExpirationTime(iat + 3600)
    .sign(body.stranger ? strangerKey : privateKey);
  ctx.type = 'text/plain';
});

server.on('request', provider.callback());
process.stdout.write(`listening ${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
