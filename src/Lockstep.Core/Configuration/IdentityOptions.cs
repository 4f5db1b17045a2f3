namespace Lockstep.Configuration;

/// <summary>
/// <c>security.jwt</c>: bearer tokens from the organisation's identity provider. Either <see cref="Authority"/> (its
/// signing keys and issuer come from its discovery document) or, offline, <see cref="Issuer"/> with
/// <see cref="SigningKeyFiles"/> (PEM public keys or certificates, or JWKS .json files).
/// </summary>
public sealed record JwtOptions(Uri? Authority, string Audience, string? Issuer, IReadOnlyList<string> SigningKeyFiles, RoleMapping Roles);

/// <summary><c>security.oidc</c>: dashboard sign-in through the identity provider (authorization code flow with PKCE).</summary>
public sealed record OidcOptions(Uri Authority, string ClientId, Secret? ClientSecret, RoleMapping Roles);

/// <summary>
/// Which claim holds the organisation's groups or roles (<c>roleClaim</c>), and which of its values give which Lockstep
/// role (<c>roles:</c>). Without a mapping, the claim's values must be Lockstep's own role names.
/// </summary>
public sealed record RoleMapping(string Claim, IReadOnlyDictionary<string, ApiRole> Values)
{
    /// <summary>The Lockstep roles that the claim values give.</summary>
    public IEnumerable<ApiRole> Map(IEnumerable<string> claimValues)
    {
        foreach (var value in claimValues)
        {
            if (Values.Count == 0)
            {
                if (ApiRoles.Parse(value) is { } own) yield return own;
            }
            else if (Values.TryGetValue(value, out var role)) yield return role;
        }
    }
}
