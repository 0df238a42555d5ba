import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A registered user of the demo. Emails are stored trimmed and lower-cased. */
@Entity({ name: 'users' })
@Index('users_email_key', ['email'], { unique: true })
export class UserEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  email: string;

  /** argon2id PHC string; never leaves the users service. */
  @Column({ name: 'password_hash', type: 'text' })
  passwordHash: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  roles: string[];

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
