namespace Lockstep.Records;

/// <summary>What an event does to its record: write the full current state, or remove it.</summary>
public enum RecordOp
{
    Upsert = 0,
    Delete = 1,
}
