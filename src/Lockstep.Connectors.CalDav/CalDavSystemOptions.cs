using Lockstep.Connectors.Http;
using Lockstep.Records;

namespace Lockstep.Connectors.CalDav;

/// <summary>A <c>type: caldav</c> system: the calendar collection (its URL ends with '/') and its credentials.</summary>
internal sealed record CalDavSystemOptions(Uri Calendar, HttpAuth? Auth)
{
    /// <summary>Where the event with this UID lives: <c>{calendar}/{uid}.ics</c>, the UID escaped as one path segment.</summary>
    public Uri EventUrl(string uid) => new(Calendar, KeyEncoder.Encode(uid) + ".ics");
}
