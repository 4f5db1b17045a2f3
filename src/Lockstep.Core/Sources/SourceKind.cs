namespace Lockstep.Sources;

/// <summary>How a source brings changes in.</summary>
public enum SourceKind
{
    /// <summary><c>type: http-poll</c>: GET a system on a schedule, incrementally by a cursor taken from the data.</summary>
    HttpPoll = 0,
    /// <summary><c>type: webhook</c>: pushes to <c>POST /webhooks/{source}</c>, verified.</summary>
    Webhook = 1,
    /// <summary><c>type: sql-poll</c>: a PostgreSQL or SQLite table or query read on a schedule by a cursor column.</summary>
    SqlPoll = 2,
    /// <summary><c>type: nats|amqp|mqtt</c>: a long-running broker consumer (<see cref="ISubscription"/>), acknowledged after the commit.</summary>
    Subscription = 3,
}
