namespace Lockstep.Configuration;

/// <summary>A credential read from config. It prints as *** everywhere; only a connector reveals it, to send it.</summary>
public sealed class Secret(string value)
{
    public string Reveal() => value;

    public override string ToString() => "***";
}
