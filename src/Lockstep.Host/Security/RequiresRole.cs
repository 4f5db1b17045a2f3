using Lockstep.Configuration;

namespace Lockstep.Host.Security;

/// <summary>Endpoint metadata: the least role a key needs to call it (when API keys are configured).</summary>
internal sealed record RequiresRole(ApiRole Role)
{
    /// <summary>Operators may do anything; viewers read; publishers publish.</summary>
    public bool AllowedFor(ApiRole role) => role == ApiRole.Operator || role == Role;
}
