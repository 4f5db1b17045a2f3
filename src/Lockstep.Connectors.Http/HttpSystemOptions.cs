using Lockstep.Configuration;

namespace Lockstep.Connectors.Http;

/// <summary>A <c>type: http</c> system: base URL, credentials and headers sent with every request.</summary>
internal sealed record HttpSystemOptions(Uri BaseUrl, HttpAuth? Auth, IReadOnlyDictionary<string, string> Headers);

/// <summary>One of <c>bearer</c>, <c>basic</c> or <c>apiKey</c>; the values are <see cref="Secret"/>s.</summary>
internal sealed record HttpAuth(string Header, Secret Value);
