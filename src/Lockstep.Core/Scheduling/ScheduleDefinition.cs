namespace Lockstep.Scheduling;

/// <summary>An entry of <c>schedules:</c>: run <see cref="Run"/> (a flow or poll source) on a schedule, as <c>lockstep sync</c> would.</summary>
public sealed record ScheduleDefinition(string Name, string Run, bool Full, Schedule Schedule);
