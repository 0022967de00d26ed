namespace GroupRobust.Study;

/// <summary>A row the library refused to train on one seed (JTT's automatic lambda on an error set that is not a minority, for example), with the library's reason.</summary>
public sealed record RefusedRecord(int Seed, string Row, string Reason);
