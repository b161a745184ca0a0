// A real OpenID provider for authlite's tests: panva's `oidc-provider` (OpenID Certified),
// on 127.0.0.1:$PORT with issuer http://127.0.0.1:$PORT, one confidential client and the
// accounts in $ACCOUNTS (JSON: {"alice": {"email": ..., "email_verified": true, ...}}).
// Every protocol step (authorization, PKCE, codes, tokens, ID-token signing, discovery,
// JWKS) is the provider's own. Only its interaction UI is scripted: the login page signs in
// the account named by the authorization request's `login_hint` and grants what the client
// asked for, so a test can drive the flow as a browser without a form.
//
// The signing key is an RSA key made at start with the id $KID: restarting on the same
// port with another $KID is a key rotation; with the same $KID, a key the relying party's
// cached JWKS does not match.
//
// Prints "ready" once listening.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const kid = process.env.KID || 'key-1';
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'authlite-test',
    client_secret: 'authlite-test-secret',
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  // Standard claims in the ID token itself (the relying party reads no userinfo).
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
  },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 300, Session: 300, Grant: 300 },
});

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    const accountId = params.login_hint;
    if (!accounts[accountId]) {
      res.statusCode = 403;
      res.end(`no test account ${accountId}`);
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const handle = provider.callback();
http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((e) => {
      res.statusCode = 500;
      res.end(String(e));
    });
  } else {
    handle(req, res);
  }
}).listen(port, '127.0.0.1', () => console.log('ready'));
