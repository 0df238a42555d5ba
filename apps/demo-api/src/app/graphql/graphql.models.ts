import { Field, ID, ObjectType } from '@nestjs/graphql';

/** `me`: the signed-in user, as `GET /api/me` shows it. */
@ObjectType('Me', { description: 'The signed-in user, as GET /api/me shows it' })
export class MeModel {
  @Field(() => ID)
  id!: string;

  @Field()
  email!: string;

  @Field(() => [String])
  roles!: string[];

  @Field(() => ID, { description: 'The session of this request (a public handle, not a credential)' })
  sessionId!: string;
}

/** A session's device in words, as `device` of `GET /auth/sessions`. */
@ObjectType('Device', { description: 'Browser, OS and device type in words, parsed from the user agent (and client hints)' })
export class DeviceModel {
  @Field(() => String, { nullable: true })
  browser!: string | null;

  @Field(() => String, { nullable: true })
  os!: string | null;

  @Field({ description: 'desktop, mobile, tablet, tv, bot or unknown' })
  type!: string;

  @Field({ description: 'All of it in words: "Chrome 156 on Linux (desktop)"' })
  label!: string;
}

/** One session, as `GET /auth/sessions` shows it (times in ISO 8601, as there). */
@ObjectType('Session', { description: 'One live session, as GET /auth/sessions shows it' })
export class SessionModel {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'Login time (ISO 8601)' })
  createdAt!: string;

  @Field({ description: 'Last recorded activity (ISO 8601)' })
  lastSeenAt!: string;

  @Field({ description: 'When the session ends unless it is used again (ISO 8601)' })
  expiresAt!: string;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field({ description: 'Whether this is the session making the request' })
  current!: boolean;

  @Field(() => DeviceModel)
  device!: DeviceModel;

  @Field(() => String, {
    nullable: true,
    description: 'When a refresh last came from another IP address or user agent than at login (ISO 8601); null if never',
  })
  contextChangedAt!: string | null;
}
